# The types that make frame_counter.py a C extension when Cython compiles it (compiled.py):
# FrameCounter becomes an aiofastnet protocol, called by its transport without Python dispatch;
# the header walk and tally() run on C integers; a Tally (the run's counters, extended by
# ws_workloads.BroadcastRun) is a C struct. The .py's annotations are not read
# (annotation_typing off): these declarations alone type it. Python ignores this file.

cimport cython
from aiofastnet.transport cimport Protocol as FastProtocol

cdef unsigned char[::1] READ_BYTES


cdef class FrameCounter(FastProtocol):
    cdef public object receiver
    cdef public object ws_protocol
    cdef public bytes partial
    cdef public bint stopped

    @cython.locals(first=Py_ssize_t, level=Py_ssize_t, check=Py_ssize_t, pos=Py_ssize_t,
                   length=Py_ssize_t, stop=Py_ssize_t, start=Py_ssize_t,
                   data="unsigned char[::1]")
    cpdef buffer_updated(self, Py_ssize_t nbytes)

    cpdef is_buffered_protocol(self)
    cpdef get_buffer(self, Py_ssize_t sizehint)


cdef class Tally:
    cdef public bint measuring
    cdef public Py_ssize_t next_seq
    cdef public Py_ssize_t completed
    cdef public object sent_at
    cdef public list at_level
    cdef public object latencies
    cdef public Py_ssize_t reads


@cython.locals(first=Py_ssize_t, broadcast=Py_ssize_t, slot=Py_ssize_t, left=Py_ssize_t,
               ring=Py_ssize_t, counts=Tally)
cpdef tally(receiver, Py_ssize_t level, double received_at)
