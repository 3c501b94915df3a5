//! The `etl` binary: parse arguments, run the command, map errors to exit
//! codes. Everything else lives in `cli/` (arguments, output) and the
//! `etl` library (the engine).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
