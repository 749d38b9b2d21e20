import { hash } from 'node:crypto';

// RFC 6962-style domain separation: a leaf can never pass for an inner node.
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

// One-shot hashing: several times cheaper than a Hash object per node.
function leafHash(data: Buffer): Buffer {
  return hash('sha256', Buffer.concat([LEAF, data]), 'buffer');
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return hash('sha256', Buffer.concat([NODE, left, right]), 'buffer');
}

/**
 * The root of a binary Merkle tree over `leaves`, and per leaf its proof:
 * `<index>.<sibling>.<sibling>...` bottom-up, base64url, an empty sibling where the node had
 * none (an odd node is carried up unchanged).
 */
export function merkleRoot(leaves: readonly Buffer[]): { root: Buffer; proofs: string[] } {
  let level = leaves.map(leafHash);
  const paths: string[][] = leaves.map(() => []);
  const positions = leaves.map((_, index) => index);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    const encoded = level.map((node) => node.toString('base64url'));
    for (let leaf = 0; leaf < leaves.length; leaf += 1) {
      const position = positions[leaf]!;
      const sibling = position ^ 1;
      paths[leaf]!.push(sibling < level.length ? encoded[sibling]! : '');
      positions[leaf] = position >> 1;
    }
    level = next;
  }
  return { root: level[0]!, proofs: paths.map((path, index) => [String(index), ...path].join('.')) };
}

/**
 * Folds a leaf up its proof. Stops early at a node `known` already holds (a node of a tree
 * whose signed root was verified before: everything above it is proven). Returns the root
 * reached (undefined when stopped early), every node met (computed and siblings, base64url),
 * or `malformed`.
 */
export function foldProof(
  leaf: Buffer,
  proof: string,
  known?: ReadonlySet<string>,
): { malformed: true } | { malformed: false; root: Buffer | undefined; nodes: string[] } {
  const [indexText, ...siblings] = proof.split('.');
  if (!indexText || !/^\d{1,9}$/.test(indexText) || siblings.length > 32) return { malformed: true };
  let index = Number(indexText);
  let node = leafHash(leaf);
  let encoded = node.toString('base64url');
  const nodes = [encoded];
  if (known?.has(encoded)) return { malformed: false, root: undefined, nodes };
  for (const sibling of siblings) {
    if (sibling !== '') {
      if (!/^[A-Za-z0-9_-]{43}$/.test(sibling)) return { malformed: true };
      const other = Buffer.from(sibling, 'base64url');
      node = index & 1 ? nodeHash(other, node) : nodeHash(node, other);
      encoded = node.toString('base64url');
      nodes.push(sibling, encoded);
      if (known?.has(encoded)) return { malformed: false, root: undefined, nodes };
    } else if (index & 1) {
      return { malformed: true }; // a right child always has a left sibling
    }
    index >>= 1;
  }
  return index === 0 ? { malformed: false, root: node, nodes } : { malformed: true };
}

/** The root a leaf and its proof lead to, or undefined when the proof is malformed. */
export function rootFromProof(leaf: Buffer, proof: string): Buffer | undefined {
  const folded = foldProof(leaf, proof);
  return folded.malformed ? undefined : folded.root;
}
