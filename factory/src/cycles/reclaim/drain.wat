;; The drain module: installed into a reclaimed canister just before it is
;; deleted, so its cycles go back to the factory instead of being burned
;; (delete_canister discards a canister's cycles).
;;
;; init arg: keep (u128, little endian) ++ the Candid argument of the
;; management canister's deposit_cycles (record { canister_id = factory }).
;; `drain` (an update; the factory calls it) sends everything above `keep`
;; to deposit_cycles and replies at once; `keep` pays for the call itself.
(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $reply_append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "canister_cycle_balance128" (func $balance128 (param i32)))
  (import "ic0" "call_new"
    (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_data_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $call_cycles_add128 (param i64 i64)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (memory 1)
  (table 1 funcref)
  (elem (i32.const 0) $ignore)
  ;; 1024: the method name; 1040: Candid "()"; 2040: arg size; 2048: arg.
  (data (i32.const 1024) "deposit_cycles")
  (data (i32.const 1040) "DIDL\00\00")
  (func $ignore (param $env i32))
  (func (export "canister_init")
    (local $size i32)
    (local.set $size (call $arg_size))
    (if (i32.gt_u (local.get $size) (i32.const 4096))
      (then (local.set $size (i32.const 0))))
    (i32.store (i32.const 2040) (local.get $size))
    (call $arg_copy (i32.const 2048) (i32.const 0) (local.get $size)))
  (func (export "canister_update drain")
    (local $size i32) (local $lo i64) (local $hi i64) (local $klo i64) (local $khi i64)
    (local.set $size (i32.load (i32.const 2040)))
    (if (i32.ge_u (local.get $size) (i32.const 16))
      (then
        (call $balance128 (i32.const 0))
        (local.set $lo (i64.load (i32.const 0)))
        (local.set $hi (i64.load (i32.const 8)))
        (local.set $klo (i64.load (i32.const 2048)))
        (local.set $khi (i64.load (i32.const 2056)))
        ;; Only when balance > keep.
        (if (i32.or
              (i64.gt_u (local.get $hi) (local.get $khi))
              (i32.and (i64.eq (local.get $hi) (local.get $khi))
                       (i64.gt_u (local.get $lo) (local.get $klo))))
          (then
            ;; amount = balance - keep, 128 bits with borrow.
            (local.set $hi
              (i64.sub (i64.sub (local.get $hi) (local.get $khi))
                       (i64.extend_i32_u (i64.lt_u (local.get $lo) (local.get $klo)))))
            (local.set $lo (i64.sub (local.get $lo) (local.get $klo)))
            ;; The management canister's id is the empty blob.
            (call $call_new (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 14)
                            (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
            (call $call_data_append (i32.const 2064) (i32.sub (local.get $size) (i32.const 16)))
            (call $call_cycles_add128 (local.get $hi) (local.get $lo))
            (drop (call $call_perform))))))
    (call $reply_append (i32.const 1040) (i32.const 6))
    (call $reply))
)
