// Package shm owns a network's memory objects: their geometry, their
// layouts, creating them as sealed memfds, mapping them with the access a
// role needs, and validating them when a member attaches.
//
// The layout has one source of truth, layout.go. Other packages reach
// shared words through the typed accessors of Object (Uint32, Uint64,
// Uint64s, Bytes), which check bounds and alignment. Accessors are made
// once, when a network is attached; what is read through them from another
// party's object is untrusted and checked by its reader (package ring).
//
// Objects are created by the coordinator (Create): a memfd of mode 0600,
// its memory reserved with fallocate (no room is an error at creation, not
// a SIGBUS later), sealed against shrinking and growing before any
// descriptor of it leaves the coordinator. Members get a read-write
// descriptor of what they write and read-only descriptors (ReadOnlyFD) of
// what they only read; Attach checks the seals, the descriptor's access
// mode, the size and the header before it maps, read-only unless the
// member must write.
package shm
