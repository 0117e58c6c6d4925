//! The `weir` command: `weir serve` (the default) runs the server; `weir test-cases` runs case files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "weir", version, about = "A streaming SQL server in the ksqlDB dialect")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (REST on 8088, Postgres wire on 5433 by default).
    Serve {
        /// Configuration file (default: ./config.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run query-validation-test case files (ksqlDB's QTT JSON format) and print `N passed, M failed`.
    TestCases {
        /// Files or folders of `*.json` case files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print a line for passing cases too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Apply the SQL migrations in a folder (`V<version>__<name>.sql`) through a running server, each once.
    Migrate {
        /// Folder of migration files.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
        /// The server's REST address.
        #[arg(long, default_value = "http://localhost:8088")]
        server: String,
        /// List applied and pending migrations instead of applying.
        #[arg(long)]
        info: bool,
    },
    /// Measure append, decode and query throughput on generated Nexmark-style bid events.
    Bench(weir::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { config: None }) {
        Command::Serve { config } => match weir::server::run(config.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("weir: {e}");
                ExitCode::FAILURE
            }
        },
        Command::TestCases { paths, verbose } => match weir::cases::run_paths(&paths, verbose) {
            Ok((_, 0)) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("weir: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Migrate { dir, server, info } => {
            let outcome = if info {
                weir::migrations::remote::info(&dir, &server)
            } else {
                weir::migrations::remote::apply(&dir, &server)
            };
            match outcome {
                Ok(lines) => {
                    for line in lines {
                        println!("{line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("weir migrate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(args) => match weir::bench::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("weir: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
