//! A real IC network through ic-agent. The agent is async; a CLI makes one
//! call at a time, so each call blocks on a current-thread tokio runtime.

use super::network::Remote;
use anyhow::{anyhow, Context, Result};
use candid::Principal;
use factory_client::TransportError;
use ic_agent::{Agent, AgentError, Identity};
use std::sync::Arc;
use std::time::Duration;

pub struct AgentTransport {
    agent: Agent,
    runtime: tokio::runtime::Runtime,
    sender: Principal,
    url: String,
}

impl AgentTransport {
    pub fn connect(remote: &Remote, identity: Arc<dyn Identity>) -> Result<AgentTransport> {
        let sender = identity.sender().map_err(|e| anyhow!("identity: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let agent = {
            let _inside = runtime.enter();
            Agent::builder()
                .with_url(remote.url.clone())
                .with_arc_identity(identity)
                .with_max_polling_time(Duration::from_secs(120))
                .build()
                .map_err(|e| anyhow!("{}: {}", remote.url, one_line(&e.to_string())))?
        };
        if remote.fetch_root_key {
            runtime.block_on(agent.fetch_root_key()).map_err(|e| {
                anyhow!("cannot reach {}: {}", remote.url, one_line(&e.to_string()))
            })?;
        }
        Ok(AgentTransport {
            agent,
            runtime,
            sender,
            url: remote.url.clone(),
        })
    }

    pub fn sender(&self) -> Principal {
        self.sender
    }

    pub fn update(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let call = self
            .agent
            .update(&canister, method)
            .with_arg(arg)
            .call_and_wait();
        self.runtime.block_on(call).map_err(|e| self.error(e))
    }

    /// The management canister about `target`: routed by `target`.
    pub fn management_update(
        &self,
        target: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let call = self
            .agent
            .update(&Principal::management_canister(), method)
            .with_effective_canister_id(target)
            .with_arg(arg)
            .call_and_wait();
        self.runtime.block_on(call).map_err(|e| self.error(e))
    }

    pub fn query(
        &self,
        canister: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<Vec<u8>, TransportError> {
        let call = self.agent.query(&canister, method).with_arg(arg).call();
        self.runtime.block_on(call).map_err(|e| self.error(e))
    }

    fn error(&self, e: AgentError) -> TransportError {
        match e {
            AgentError::CertifiedReject { reject, .. }
            | AgentError::UncertifiedReject { reject, .. } => TransportError {
                reject_code: reject.reject_code as u32,
                message: one_line(&reject.reject_message),
            },
            other => TransportError {
                reject_code: 0,
                message: format!("{}: {}", self.url, one_line(&other.to_string())),
            },
        }
    }
}

/// Errors are printed on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
