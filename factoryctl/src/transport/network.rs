//! `--network`: the embedded emulator, or a real network by name or URL, and
//! where a real network's factory id is found (as dfx records it).

use anyhow::{anyhow, bail, Context, Result};
use candid::Principal;
use std::path::{Path, PathBuf};

pub const LOCAL_URL: &str = "http://127.0.0.1:4943";
pub const IC_URL: &str = "https://icp-api.io";
/// The factory's name in dfx.json, and so in canister_ids.json.
const FACTORY_NAME: &str = "factory";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Embedded,
    Remote(Remote),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// dfx's name for it: `local`, `ic`, or the URL itself.
    pub name: String,
    pub url: String,
    /// Every network but the IC has a root key of its own, fetched at start.
    pub fetch_root_key: bool,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network> {
        let remote = |name: &str, url: &str, fetch_root_key| {
            Network::Remote(Remote {
                name: name.into(),
                url: url.into(),
                fetch_root_key,
            })
        };
        Ok(match s {
            "embedded" => Network::Embedded,
            "local" => remote("local", LOCAL_URL, true),
            "ic" => remote("ic", IC_URL, false),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                remote(url, url, url.trim_end_matches('/') != IC_URL)
            }
            other => bail!("unknown network '{other}': use embedded, local, ic or an http(s) URL"),
        })
    }
}

impl Remote {
    /// The factory id dfx recorded: `canister_ids.json` (the IC and other
    /// persistent networks) or `.dfx/<network>/canister_ids.json`.
    pub fn factory_from_canister_ids(&self) -> Result<Principal> {
        let name = self.name.as_str();
        let candidates = [
            Path::new(".dfx").join(name).join("canister_ids.json"),
            Path::new("canister_ids.json").to_path_buf(),
        ];
        for path in &candidates {
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            if let Some(id) =
                factory_in(&text, name).with_context(|| format!("in {}", path.display()))?
            {
                return Ok(id);
            }
        }
        Err(anyhow!(
            "no factory id for network '{name}': pass --factory <principal> or run from the dfx project \
             (canister_ids.json or .dfx/{name}/canister_ids.json)"
        ))
    }
}

impl Remote {
    /// Where `deploy` over this network records the factory id, as dfx
    /// records a local network's canisters (read back by
    /// [`Remote::factory_from_canister_ids`]).
    pub fn local_canister_ids(&self) -> PathBuf {
        Path::new(".dfx").join(&self.name).join("canister_ids.json")
    }

    /// Records `id` as this network's factory in [`Remote::local_canister_ids`],
    /// keeping whatever else the file holds.
    pub fn record_factory(&self, id: Principal) -> Result<PathBuf> {
        let path = self.local_canister_ids();
        let mut value = if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
        } else {
            serde_json::json!({})
        };
        if !value.is_object() {
            bail!("{} is not a JSON object", path.display());
        }
        value[FACTORY_NAME][self.name.as_str()] = serde_json::Value::String(id.to_text());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&value).context("encoding canister ids")?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// `{"factory": {"<network>": "<principal>"}}`
fn factory_in(json: &str, network: &str) -> Result<Option<Principal>> {
    let value: serde_json::Value = serde_json::from_str(json).context("not valid JSON")?;
    let Some(id) = value.get(FACTORY_NAME).and_then(|f| f.get(network)) else {
        return Ok(None);
    };
    let text = id
        .as_str()
        .ok_or_else(|| anyhow!("{FACTORY_NAME}.{network} is not a string"))?;
    Principal::from_text(text)
        .map(Some)
        .map_err(|e| anyhow!("{FACTORY_NAME}.{network} is not a principal: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls_parse_and_others_are_refused() {
        assert_eq!(Network::parse("embedded").unwrap(), Network::Embedded);
        let Network::Remote(local) = Network::parse("local").unwrap() else {
            panic!()
        };
        assert_eq!(
            (local.url.as_str(), local.fetch_root_key),
            (LOCAL_URL, true)
        );
        let Network::Remote(ic) = Network::parse("ic").unwrap() else {
            panic!()
        };
        assert_eq!((ic.url.as_str(), ic.fetch_root_key), (IC_URL, false));
        let Network::Remote(url) = Network::parse("http://localhost:8080").unwrap() else {
            panic!()
        };
        assert!(url.fetch_root_key);
        assert!(Network::parse("mainnet").is_err());
    }

    #[test]
    fn the_factory_id_is_read_per_network() {
        let json =
            r#"{"factory": {"ic": "ryjl3-tyaaa-aaaaa-aaaba-cai", "local": "not a principal"}}"#;
        assert_eq!(
            factory_in(json, "ic").unwrap(),
            Some(Principal::from_text("ryjl3-tyaaa-aaaaa-aaaba-cai").unwrap())
        );
        assert_eq!(factory_in(json, "staging").unwrap(), None);
        assert!(factory_in(json, "local").is_err());
        assert!(factory_in("{", "ic").is_err());
    }
}
