//! Writes the hostile corpus (tests/common/hostile.rs) to a folder, with `manifest.tsv` (file,
//! error kind, a phrase of the message), for the wasm build's test (tests/image/core.test.mjs) and
//! the benchmark that times each refusal through the real binary (wasm/bench/hostile.sh):
//!
//! ```text
//! cargo run -p image-core --example hostile -- /tmp/hostile
//! ```
#[path = "../tests/common/hostile.rs"]
mod hostile;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: hostile DIR (the folder to write the corpus to)");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut manifest = String::new();
    for case in hostile::corpus() {
        std::fs::write(dir.join(case.name), &case.bytes).unwrap();
        manifest += &format!("{}\t{}\t{}\n", case.name, case.kind.as_str(), case.says);
    }
    std::fs::write(dir.join("manifest.tsv"), manifest).unwrap();
}
