//! Build automation: `cargo xtask <task>`. Tasks are added by the parts that need them.
mod image;
mod install;
mod manifest;
mod origin;
mod tools;

const TASKS: &str = "edge-wasm, regional [--dev], artifacts [--dev], install [--dev] [--root DIR], wasm [--avif], fixtures [--reseed PHOTO], bench-image [PHOTO_DIR]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = args.iter().any(|a| a == "--dev");
    match args.first().map(String::as_str).unwrap_or_default() {
        // The Lambda@Edge wasm module + Node.js glue → target/artifacts/edge/
        "edge-wasm" => origin::edge_wasm(),
        // The regional bootstrap → target/artifacts/regional/
        "regional" => origin::regional(dev),
        // Everything `scalefront package` needs.
        "artifacts" => origin::edge_wasm().and_then(|()| origin::regional(dev)),
        // `cargo install --path cli` with the artifacts embedded (deploys from the binary alone).
        "install" => install::install(&args[1..]),
        // image-core's wasm packages → wasm/pkg/{node,web}
        "wasm" => image::wasm(&args[1..]),
        "fixtures" => image::fixtures(&args[1..]),
        "bench-image" => image::bench(&args[1..]),
        task => anyhow::bail!("unknown task {task:?}; tasks: {TASKS}"),
    }
}
