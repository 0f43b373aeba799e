//! Command line: `ferrotel [--config F]… [--set k=v]…`, `validate`, `components`, `--version`.

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
    /// Feature gates: the ones ferrotel's components read (filelog's `filelog.allowFileDeletion`,
    /// ...) change what they change; the others are accepted and ignored for now.
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
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let gates = match &cli.command {
        Some(Command::Validate(args)) => &args.feature_gates,
        _ => &cli.run.feature_gates,
    };
    runtime::featuregate::set(gates);
    match cli.command {
        Some(Command::Validate(args)) => run::validate(&args),
        Some(Command::Components) => {
            print!("{}", run::components_yaml());
            ExitCode::SUCCESS
        }
        None => run::run(cli.run),
    }
}
