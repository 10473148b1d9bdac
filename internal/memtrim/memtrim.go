// Package memtrim gives back memory that decoy needed only to start.
//
// Starting runs the initialisation of every package linked into the
// binary and compiles the stub files, .proto files and OpenAPI documents:
// it touches about 20 MiB of the executable's code and read-only data
// that serving never touches again. Those pages are clean copies of the
// file, so the kernel can drop them from the process and map them again
// from the page cache, at the cost of a minor page fault, when they are
// next used. ReleaseCode does that once serving has begun; what stays
// resident is what serving uses.
//
// Serving brings such pages back, about 15 MiB after a first request on
// each of HTTP/1.1, TLS HTTP/2 and gRPC. TrimWhenIdle gives them back
// again, with the heap the garbage collector freed, each time the process
// has been at rest for a while after its resident memory grew.
package memtrim
