//! The `rustfs` binary: parses the command line and environment, opens the volumes, and serves
//! S3 until SIGTERM or Ctrl-C. Everything S3 lives in the library crates.

mod audit;
mod background;
mod cluster_cmd;
mod cluster_node;
mod config;
mod connections;
mod heal_cmd;
mod logging;
mod otel;
mod prometheus_cmd;
mod routes;
mod serve;
mod tls;
mod users;

use std::process::ExitCode;

use clap::Parser;

use crate::config::{Cli, Command};

/// jemalloc, whose background threads give the pages of freed memory back to the system
/// (after its decay time, 10 s). glibc's malloc kept what uploads freed (their buffers come and
/// go on many threads) in its arenas: after 32 uploads had stalled and ended on 4 volumes it
/// held ~+43 MiB, until a `malloc_trim` call, an unsafe FFI call the lints forbid.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rustfs: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let otel = match logging::init(cli.log_format, runtime.handle()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("rustfs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Server(args) => runtime.block_on(serve::server(args)),
        Command::Bench(args) => runtime.block_on(rustfs_bench::run(args)),
        Command::Heal(args) => runtime.block_on(heal_cmd::run(args)),
        Command::Cluster(args) => runtime.block_on(cluster_cmd::run(args)),
        Command::PrometheusToken(args) => prometheus_cmd::run(args),
    };
    if let Some(guard) = otel {
        guard.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rustfs: {e}");
            ExitCode::FAILURE
        }
    }
}
