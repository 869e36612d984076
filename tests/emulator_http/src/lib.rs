//! A local IC network over HTTP: the interface spec's HTTPS interface
//! (`/api/v2/status`, `/api/v{2,3,4}/canister/<id>/call`, `.../query`,
//! `.../read_state`, `/api/v{2,3}/subnet/<id>/read_state`) and an HTTP
//! gateway, in front of an [`ic_emulator::Emulator`], on 127.0.0.1 only.
//!
//! Requests are authenticated as the spec says (CBOR envelopes, request ids,
//! ingress expiry, Ed25519 and secp256k1 signatures, sender delegation
//! chains); responses are certified with a BLS key generated at start (its
//! public key is the root key
//! `/api/v2/status` serves) and query responses are signed by a node key the
//! certified tree publishes, so agents keep every check on. Rounds run by
//! themselves in real time.

mod candid_field;
mod delegation;
mod envelope;
mod gateway;
mod http;
mod keys;
mod network;
mod refusal;
mod signature;
mod state_tree;
mod topology;
mod tree;

use hyper_util::rt::TokioIo;
use ic_emulator::Emulator;
use network::{Command, NetworkHandle};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

pub use envelope::{MAX_INGRESS_TTL_NANOS, PERMITTED_DRIFT_NANOS};

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// On 127.0.0.1; 0 picks a free port.
    pub port: u16,
    /// Real time between two rounds.
    pub round: Duration,
    /// Bodies above this are refused with 413: twice the 2 MiB ingress
    /// payload limit (`ic_emulator::limits::MAX_PAYLOAD`) leaves room for the
    /// envelope around any valid message.
    pub max_body_bytes: usize,
    /// How long a v3/v4 call waits for its outcome before answering 202.
    pub sync_call_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            round: Duration::from_millis(100),
            max_body_bytes: 2 * ic_emulator::limits::MAX_PAYLOAD,
            sync_call_timeout: Duration::from_secs(10),
        }
    }
}

/// A running server; dropped or [`Server::stop`]ped, it ends.
pub struct Server {
    addr: SocketAddr,
    root_key: Vec<u8>,
    net: NetworkHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves the emulator `make` creates (on the network's own thread).
    pub fn start(
        config: ServerConfig,
        make: impl FnOnce() -> Emulator + Send + 'static,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let keys = Arc::new(keys::Keys::generate());
        let root_key = keys.root_key_der.clone();
        let (net, network_thread) = network::spawn(Box::new(make), keys.clone(), config.round);
        let ctx = Arc::new(http::Context {
            net: net.clone(),
            keys,
            max_body_bytes: config.max_body_bytes,
            sync_call_timeout: config.sync_call_timeout,
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let http_thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || serve_http(listener, ctx, stopped))?;
        Ok(Server {
            addr,
            root_key,
            net,
            shutdown: Some(shutdown),
            threads: vec![http_thread, network_thread],
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The DER root key `/api/v2/status` serves.
    pub fn root_key(&self) -> &[u8] {
        &self.root_key
    }

    /// Runs `f` on the emulator between rounds (to look at or save the state).
    pub fn with_emulator<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Emulator) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.net.send(Command::With(Box::new(move |emu| {
            let _ = tx.send(f(emu));
        })));
        rx.recv().ok()
    }

    /// Blocks until SIGINT or SIGTERM arrives, or `limit` has passed.
    pub fn wait_for_signal(&self, limit: Option<Duration>) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let limit = limit.unwrap_or(Duration::from_secs(u64::MAX / 4));
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
                _ = tokio::time::sleep(limit) => Ok(()),
            }
        })
    }

    /// Stops serving and waits for both threads.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        self.net.send(Command::Stop);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn serve_http(
    listener: TcpListener,
    ctx: Arc<http::Context>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| http::serve(ctx.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
    });
}
