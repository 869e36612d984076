//! `tag`: a copy of a module tagged with a release version (a public
//! `release_version` metadata section), so the same build can be published
//! as a second, distinct release: what a new user needs to try a rollout.

use crate::cli::TagArgs;
use crate::say;
use anyhow::{anyhow, Context, Result};

pub fn run(args: &TagArgs) -> Result<()> {
    let input = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let tagged = canister_artifacts::variants::tagged(&input, &args.version)
        .map_err(|e| anyhow!("{} is not a gzipped wasm module: {e}", args.file.display()))?;
    std::fs::write(&args.output, &tagged)
        .with_context(|| format!("writing {}", args.output.display()))?;
    say!(
        "{}: {} tagged {} (sha256 {})",
        args.output.display(),
        args.file.display(),
        args.version,
        hex::encode(factory_client::module_hash(&tagged).0)
    );
    Ok(())
}
