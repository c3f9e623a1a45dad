//! `scalefront`: photos scaled on the fly at the CDN edge. Each subcommand lives in its own module.
use clap::{Parser, Subcommand};

mod deploy;
mod doctor;
mod package;
mod purge;
mod resize;
mod rewrite;
mod serve;
mod sign;
mod spec;
mod srcset;
mod teardown;
mod viewer_fn;

#[derive(Parser)]
#[command(
    name = "scalefront",
    version,
    about = "Photos scaled on the fly at the CDN edge",
    long_about = "Photos scaled on the fly at the CDN edge.\n\nExample:\n  scalefront serve            # a local edge over the bundled sample photos\n  scalefront rewrite '/a.jpg?w=600' --header 'accept: image/webp'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Deploy(deploy::Args),
    Doctor(doctor::Args),
    Package(package::Args),
    Purge(purge::Args),
    Resize(resize::Args),
    ViewerFn(viewer_fn::Args),
    Rewrite(rewrite::Args),
    Serve(serve::Args),
    Sign(sign::Args),
    Spec(spec::Args),
    Srcset(srcset::Args),
    Teardown(teardown::Args),
}

fn main() {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Deploy(args) => deploy::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Package(args) => package::run(args),
        Command::Purge(args) => purge::run(args),
        Command::Resize(args) => resize::run(args),
        Command::ViewerFn(args) => viewer_fn::run(args),
        Command::Rewrite(args) => rewrite::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Spec(args) => spec::run(args),
        Command::Srcset(args) => srcset::run(args),
        Command::Teardown(args) => teardown::run(args),
    };
    if let Err(e) = result {
        eprintln!("scalefront: error: {e:#}");
        std::process::exit(1);
    }
}
