//! Build automation: `cargo xtask <task>`. Tasks are added by the parts that need them.
fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    anyhow::bail!("unknown task {task:?}; tasks: (none yet)")
}
