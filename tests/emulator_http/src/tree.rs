//! The certified state tree (interface spec, "The system state tree") as a
//! labeled tree, and the witness a certificate carries: every requested path
//! revealed, every sibling label kept with its subtree pruned to a hash, so
//! the absence of a path is provable too.

use ic_certification::hash_tree::{empty, fork, label, leaf, pruned, HashTree, Label};
use std::collections::BTreeMap;

/// A node of the state tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Leaf(Vec<u8>),
    /// Children by label, in label (byte) order, as the tree requires.
    Labeled(BTreeMap<Vec<u8>, Node>),
}

impl Node {
    pub fn map() -> Node {
        Node::Labeled(BTreeMap::new())
    }

    /// Inserts `value` at `path`, creating the labeled nodes on the way.
    pub fn insert(&mut self, path: &[&[u8]], value: Vec<u8>) {
        let Some((first, rest)) = path.split_first() else {
            *self = Node::Leaf(value);
            return;
        };
        if let Node::Leaf(_) = self {
            *self = Node::map();
        }
        if let Node::Labeled(children) = self {
            let child = children.entry(first.to_vec()).or_insert_with(Node::map);
            child.insert(rest, value);
        }
    }

    /// The tree with nothing pruned.
    pub fn full(&self) -> HashTree<Vec<u8>> {
        self.witness(&[&[]])
    }

    /// The witness revealing `paths` (each a list of labels).
    pub fn witness(&self, paths: &[&[Label<Vec<u8>>]]) -> HashTree<Vec<u8>> {
        if paths.iter().any(|p| p.is_empty()) {
            return match self {
                Node::Leaf(v) => leaf(v.clone()),
                Node::Labeled(children) => {
                    let all: Vec<HashTree<Vec<u8>>> = children
                        .iter()
                        .map(|(k, c)| label(k.clone(), c.full()))
                        .collect();
                    balanced(all)
                }
            };
        }
        match self {
            // A path that goes on below a leaf ends at the leaf.
            Node::Leaf(v) => leaf(v.clone()),
            Node::Labeled(children) => {
                let nodes: Vec<HashTree<Vec<u8>>> = children
                    .iter()
                    .map(|(k, child)| {
                        let below: Vec<&[Label<Vec<u8>>]> = paths
                            .iter()
                            .filter(|p| p[0].as_bytes() == k.as_slice())
                            .map(|p| &p[1..])
                            .collect();
                        let sub = if below.is_empty() {
                            pruned(child.full().digest())
                        } else {
                            child.witness(&below)
                        };
                        label(k.clone(), sub)
                    })
                    .collect();
                balanced(nodes)
            }
        }
    }
}

/// Labeled nodes in order, joined by forks into a balanced tree (the shape
/// is the server's choice; the digest is over whatever shape is sent).
fn balanced(mut nodes: Vec<HashTree<Vec<u8>>>) -> HashTree<Vec<u8>> {
    match nodes.len() {
        0 => empty(),
        1 => nodes.remove(0),
        n => {
            let right = nodes.split_off(n / 2);
            fork(balanced(nodes), balanced(right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_certification::LookupResult;

    fn sample() -> Node {
        let mut t = Node::map();
        t.insert(&[b"time"], vec![1]);
        t.insert(&[b"request_status", b"aa", b"status"], b"replied".to_vec());
        t.insert(&[b"request_status", b"cc", b"status"], b"done".to_vec());
        t.insert(&[b"canister", b"x", b"module_hash"], vec![9; 32]);
        t
    }

    #[test]
    fn a_witness_reveals_what_was_asked_proves_absence_and_keeps_the_root_hash() {
        let t = sample();
        let asked: Vec<Label<Vec<u8>>> =
            vec![b"request_status".to_vec().into(), b"aa".to_vec().into()];
        let absent: Vec<Label<Vec<u8>>> =
            vec![b"request_status".to_vec().into(), b"bb".to_vec().into()];
        let w = t.witness(&[&asked, &absent]);
        assert_eq!(w.digest(), t.full().digest());
        assert_eq!(
            w.lookup_path([b"request_status".as_ref(), b"aa", b"status"]),
            LookupResult::Found(b"replied".as_ref())
        );
        assert_eq!(
            w.lookup_path([b"request_status".as_ref(), b"bb", b"status"]),
            LookupResult::Absent
        );
        // Not asked: pruned, so unknown rather than revealed.
        assert_eq!(
            w.lookup_path([b"canister".as_ref(), b"x", b"module_hash"]),
            LookupResult::Unknown
        );
    }
}
