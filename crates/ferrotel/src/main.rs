//! The `ferrotel` binary: wires the CLI to the config loader, the graph builder and the
//! service lifecycle. The work lives in the library crates.

mod cli;
mod memory;
mod run;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    memory::tune_allocator();
    cli::main()
}
