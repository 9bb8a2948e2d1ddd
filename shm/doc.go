// Package shm owns a network's shared-memory segment: its geometry, its
// layout, creating it in /dev/shm, mapping it, and validating it when a
// member attaches.
//
// The layout has one source of truth, layout.go. Every other package reaches
// shared words through the typed accessors of Segment (Uint32, Uint64,
// Bytes), which check bounds and alignment, so a damaged segment is reported
// as ErrDamaged rather than crashing the process.
//
// A segment is created by the coordinator (Create) and handed to members as
// a file descriptor (Attach). Before mapping, Create reserves the whole size
// in tmpfs with fallocate, so a full /dev/shm is reported as an error at
// creation instead of a SIGBUS later.
package shm
