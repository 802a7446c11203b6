// Package imagecopy copies an image by digest from one repository to
// another, in one registry or between two, with oras-go v2: every manifest,
// index and blob (all platforms of an index), cross-repository blob mounts
// within one registry, nothing uploaded that the destination already has,
// and the referrers of the image and of each of its platforms' manifests
// (Notation signatures, SBOMs) unless told not to. A copy that stopped half way is finished by running it again:
// what the destination holds is skipped.
//
// The package knows nothing of trust: the caller verifies the source and
// signs the destination. It never prints; progress goes to a callback.
package imagecopy
