//! The emulator behind the server, on a thread of its own (the emulator is
//! single-threaded): requests arrive as commands, rounds run on a real-time
//! clock (virtual time follows the wall clock, as PocketIC's live mode does),
//! and ingress messages are tracked by request id until their expiry.

use crate::keys::Keys;
use crate::refusal::Refusal;
use crate::state_tree::{self, IngressStatus, ReadTarget};
use crate::topology::Topology;
use candid::Principal;
use ic_certification::hash_tree::{HashTree, Label};
use ic_emulator::{CallResult, Emulator, MessageId, RejectResponse, Time};
use ic_transport_types::RequestId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// An update call that passed authentication.
pub struct Call {
    pub request_id: RequestId,
    pub sender: Principal,
    pub canister: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    pub effective_canister: Principal,
    pub expiry: u64,
}

pub enum Command {
    /// Submits a call; replies once `canister_inspect_message` has run.
    Call(Call, oneshot::Sender<Result<(), RejectResponse>>),
    Query {
        canister: Principal,
        sender: Principal,
        method: String,
        arg: Vec<u8>,
        reply: oneshot::Sender<CallResult>,
    },
    /// The witness of `paths`, or why they may not be read.
    ReadState {
        sender: Principal,
        target: ReadTarget,
        paths: Vec<Vec<Label<Vec<u8>>>>,
        reply: oneshot::Sender<Result<HashTree<Vec<u8>>, Refusal>>,
    },
    /// Replies when the call is replied or rejected (at once if it is).
    AwaitDone(RequestId, oneshot::Sender<()>),
    /// Runs `f` on the emulator between rounds (the HTTP gateway's queries,
    /// tests looking at the state).
    With(Box<dyn FnOnce(&Emulator) + Send>),
    Stop,
}

struct Ingress {
    sender: Principal,
    effective_canister: Principal,
    expiry: u64,
    status: IngressStatus,
    message: Option<MessageId>,
    waiters: Vec<oneshot::Sender<()>>,
}

/// A handle on the network thread: cloneable, usable from any task.
#[derive(Clone)]
pub struct NetworkHandle {
    tx: mpsc::Sender<Command>,
    time: Arc<AtomicU64>,
    topology: Arc<Topology>,
}

impl NetworkHandle {
    /// The subnets served and their canister ranges.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The network's time (ns since the epoch): what expiry is checked against.
    pub fn now(&self) -> u64 {
        self.time.load(Ordering::SeqCst).max(wall_clock_nanos())
    }

    /// Sends a command; false once the network has stopped.
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Runs `f` on the emulator and returns its result.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Emulator) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::With(Box::new(move |emu| {
            let _ = tx.send(f(emu));
        })));
        rx.await.ok()
    }
}

pub fn wall_clock_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Starts the network thread (it ends at [`Command::Stop`]).
pub fn spawn(
    make: Box<dyn FnOnce() -> Emulator + Send>,
    keys: Arc<Keys>,
    round: Duration,
) -> (NetworkHandle, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let (topology_tx, topology_rx) = mpsc::channel();
    let time = Arc::new(AtomicU64::new(0));
    let shared = time.clone();
    let thread = std::thread::Builder::new()
        .name("emulator".into())
        .spawn(move || {
            let emu = make();
            let topology = Arc::new(Topology::of(&emu, keys.subnet_id));
            let _ = topology_tx.send(topology.clone());
            let mut net = Network {
                emu,
                keys,
                topology,
                ingress: HashMap::new(),
                time: shared,
            };
            net.follow_wall_clock();
            net.run(rx, round);
        })
        .expect("spawning the emulator thread");
    let topology = topology_rx
        .recv()
        .expect("the emulator thread sends its topology once it has built the emulator");
    (NetworkHandle { tx, time, topology }, thread)
}

struct Network {
    emu: Emulator,
    keys: Arc<Keys>,
    topology: Arc<Topology>,
    ingress: HashMap<RequestId, Ingress>,
    time: Arc<AtomicU64>,
}

impl Network {
    fn run(&mut self, rx: mpsc::Receiver<Command>, round: Duration) {
        let mut next_round = Instant::now() + round;
        loop {
            match rx.recv_timeout(next_round.saturating_duration_since(Instant::now())) {
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(cmd) => self.handle(cmd),
                Err(RecvTimeoutError::Timeout) => {
                    self.round();
                    next_round = Instant::now() + round;
                }
            }
        }
    }

    /// Virtual time catches up with the wall clock (it never goes back).
    fn follow_wall_clock(&mut self) {
        let wall = wall_clock_nanos();
        if wall > self.emu.get_time().as_nanos_since_unix_epoch() {
            self.emu.set_time(Time::from_nanos_since_unix_epoch(wall));
        }
        self.time.store(
            self.emu.get_time().as_nanos_since_unix_epoch(),
            Ordering::SeqCst,
        );
    }

    fn round(&mut self) {
        self.follow_wall_clock();
        self.emu.tick();
        self.time.store(
            self.emu.get_time().as_nanos_since_unix_epoch(),
            Ordering::SeqCst,
        );
        let now = self.time.load(Ordering::SeqCst);
        for entry in self.ingress.values_mut() {
            let Some(id) = entry.message else { continue };
            if let Some(result) = self.emu.ingress_status(id) {
                self.emu.forget_ingress(id);
                entry.message = None;
                entry.status = match result {
                    Ok(reply) => IngressStatus::Replied(reply),
                    Err(reject) => IngressStatus::Rejected(reject),
                };
                for w in entry.waiters.drain(..) {
                    let _ = w.send(());
                }
            }
        }
        // A completed call is kept until its expiry has passed (spec: the
        // transition to pruned happens no earlier than `ingress_expiry`).
        self.ingress
            .retain(|_, e| e.message.is_some() || e.expiry >= now);
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Call(call, reply) => {
                let _ = reply.send(self.submit(call));
            }
            Command::Query {
                canister,
                sender,
                method,
                arg,
                reply,
            } => {
                let _ = reply.send(self.emu.query_call(canister, sender, &method, arg));
            }
            Command::ReadState {
                sender,
                target,
                paths,
                reply,
            } => {
                let _ = reply.send(self.read_state(sender, target, &paths));
            }
            Command::AwaitDone(id, reply) => match self.ingress.get_mut(&id) {
                Some(e) if e.message.is_some() => e.waiters.push(reply),
                _ => {
                    let _ = reply.send(());
                }
            },
            Command::With(f) => f(&self.emu),
            Command::Stop => {}
        }
    }

    fn submit(&mut self, call: Call) -> Result<(), RejectResponse> {
        if self.ingress.contains_key(&call.request_id) {
            // The same request again: it is already in the state; nothing more happens.
            return Ok(());
        }
        let id = self
            .emu
            .submit_call(call.canister, call.sender, &call.method, call.arg)?;
        self.ingress.insert(
            call.request_id,
            Ingress {
                sender: call.sender,
                effective_canister: call.effective_canister,
                expiry: call.expiry,
                status: IngressStatus::Received,
                message: Some(id),
                waiters: Vec::new(),
            },
        );
        Ok(())
    }

    fn read_state(
        &self,
        sender: Principal,
        target: ReadTarget,
        paths: &[Vec<Label<Vec<u8>>>],
    ) -> Result<HashTree<Vec<u8>>, Refusal> {
        for path in paths {
            if path.first().map(|l| l.as_bytes()) != Some(b"request_status") {
                continue;
            }
            let Some(id) = path.get(1) else { continue };
            let Ok(bytes) = <[u8; 32]>::try_from(id.as_bytes()) else {
                return Err(Refusal::bad_request("a request id has 32 bytes"));
            };
            let id = RequestId::new(&bytes);
            if let Some(e) = self.ingress.get(&id) {
                let same_target = match target {
                    ReadTarget::Canister(ecid) => ecid == e.effective_canister,
                    ReadTarget::Subnet(_) => true,
                };
                if e.sender != sender || !same_target {
                    return Err(Refusal::forbidden(format!(
                        "request 0x{} was sent by another sender or to another canister",
                        hex::encode(bytes)
                    )));
                }
            }
        }
        state_tree::check_paths(paths, target)?;
        let canisters = self.emu.certified_canisters();
        state_tree::check_metadata(paths, sender, &canisters)?;
        let statuses = self.ingress.iter().map(|(id, e)| (*id, &e.status));
        let tree = state_tree::build(
            self.time.load(Ordering::SeqCst),
            statuses,
            &canisters,
            &self.keys,
            &self.topology,
        );
        let refs: Vec<&[Label<Vec<u8>>]> = paths.iter().map(|p| p.as_slice()).collect();
        let mut with_time = refs;
        let time_path: Vec<Label<Vec<u8>>> = vec![b"time".to_vec().into()];
        with_time.push(&time_path);
        Ok(tree.witness(&with_time))
    }
}
