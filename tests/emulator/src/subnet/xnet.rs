//! Requests leaving a canister for another subnet: the extra rounds of an
//! XNet hop and the cross-subnet payload limit.

use crate::error::RejectResponse;
use crate::limits;
use crate::state::calls::Input;
use crate::state::StateMachine;
use candid::Principal;
use ic_error_types::ErrorCode;

/// The reject the sender's stream builder puts in place of a request above
/// `MAX_INTER_CANISTER_PAYLOAD_IN_BYTES` to another subnet: reject code
/// CANISTER_ERROR and the replica's message
/// (rs/messaging/src/routing/stream_builder.rs, `oversized_requests`).
/// Canister-to-canister rejects carry no error code on the IC; the emulator
/// reports IC0504 (`CanisterContractViolation`, a CANISTER_ERROR code).
pub(crate) fn oversized_request(sender: Principal, size: usize) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterContractViolation,
        format!(
            "Canister {sender} violated contract: attempted to send a message of size {size} exceeding the limit {}",
            limits::MAX_PAYLOAD
        ),
    )
}

impl StateMachine {
    /// A request as it leaves its canister: to the same subnet it is
    /// inducted in the next round; to another it waits the hop's extra
    /// rounds, and if its payload (method name and argument, as
    /// `payload_size_bytes` counts it) is above 2 MiB it is replaced by a
    /// reject response to the caller, inducted in the next round.
    pub(crate) fn route_request(&mut self, request: Input) -> Input {
        let Input::Request {
            sender,
            receiver,
            method,
            arg,
            cycles,
            callback_id,
            deadline,
            sender_version,
            not_before_round: _,
        } = request
        else {
            return request;
        };
        let from = self.location(&sender);
        let to = self.request_destination(&sender, &receiver, &method, &arg);
        let size = method.len() + arg.len();
        if from != to && size > limits::MAX_PAYLOAD {
            return Input::Response {
                originator: sender,
                respondent: receiver,
                callback_id,
                result: Err(oversized_request(sender, size)),
                refund: cycles,
                not_before_round: self.round + 1,
                expiry: false,
            };
        }
        if from != to {
            self.xnet_requests += 1;
        }
        let extra = self.xnet_delay(from, to);
        Input::Request {
            sender,
            receiver,
            method,
            arg,
            cycles,
            callback_id,
            deadline,
            sender_version,
            not_before_round: if extra == 0 {
                0
            } else {
                self.round + 1 + extra
            },
        }
    }
}
