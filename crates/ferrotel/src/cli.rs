//! Command line: `ferrotel [--config F]… [--set k=v]…`, `validate`, `components`,
//! `featuregate [id]`, `--version`.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::run;

/// An OpenTelemetry Collector that runs the Go collector's configs.
#[derive(Parser, Debug)]
#[command(name = "ferrotel", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub run: ConfigArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Config source: a file path or URI (`file:`, `env:`, `yaml:`). Repeat to merge, last wins.
    #[arg(long = "config", value_name = "URI")]
    pub configs: Vec<String>,
    /// Override one value: `--set processors.batch.timeout=2s` (also `a::b::c=v`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Feature gates (`id`, `+id`, `-id`, comma-separated or repeated; `ferrotel featuregate`
    /// lists them). Unknown ids are refused, as Go does.
    #[arg(long = "feature-gates", value_name = "GATES")]
    pub feature_gates: Vec<String>,
    /// How long each component may take to drain on shutdown.
    #[arg(
        long = "shutdown-timeout",
        value_name = "DURATION",
        default_value = "25s"
    )]
    pub shutdown_timeout: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a configuration and build its pipelines without starting them.
    Validate(ConfigArgs),
    /// List the component types this build has, with stability per signal.
    Components,
    /// Display information about available feature gates and their status.
    Featuregate(FeaturegateArgs),
}

#[derive(Args, Debug)]
pub struct FeaturegateArgs {
    /// Show one gate in detail.
    #[arg(value_name = "feature-id")]
    pub id: Option<String>,
    #[arg(long = "feature-gates", value_name = "GATES")]
    pub feature_gates: Vec<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let gates = match &cli.command {
        Some(Command::Validate(args)) => &args.feature_gates,
        Some(Command::Featuregate(args)) => &args.feature_gates,
        _ => &cli.run.feature_gates,
    };
    match runtime::featuregate::check(gates) {
        // Go prints these on stdout while parsing the flag.
        Ok(notices) => notices.iter().for_each(|n| println!("{n}")),
        Err(e) => {
            eprintln!(
                "Error: invalid argument {:?} for \"--feature-gates\" flag: {e}",
                gates.join(",")
            );
            return ExitCode::FAILURE;
        }
    }
    runtime::featuregate::set(gates);
    match cli.command {
        Some(Command::Featuregate(args)) => {
            match runtime::featuregate::describe(args.id.as_deref()) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Validate(args)) => run::validate(&args),
        Some(Command::Components) => {
            print!("{}", run::components_yaml());
            ExitCode::SUCCESS
        }
        None => run::run(cli.run),
    }
}
