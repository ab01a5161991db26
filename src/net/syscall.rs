//! `recv` and `send` on a TCP socket as bare system calls.
//!
//! glibc's `recv` and `send` are POSIX cancellation points: each call
//! switches asynchronous cancellation on before the system call and off
//! after it, about 45 instructions per call (callgrind, `serve` echoing 20 B
//! in a closed loop: 59 instructions per `recv`, of which the switching was
//! 33). Rust threads are never cancelled. On Linux the engine makes the same
//! system calls through rustix, whose calls are the `syscall` instruction
//! inlined where they are made: no cancellation switching, and none of
//! `syscall(2)`'s argument shuffling either (11 instructions a call).

use std::io;

/// `recv(fd, buf, len, 0)`.
#[cfg(all(target_os = "linux", not(miri)))]
#[inline]
pub(crate) fn recv(socket: &impl std::os::fd::AsFd, buf: &mut [u8]) -> io::Result<usize> {
    match rustix::net::recv(socket, buf, rustix::net::RecvFlags::empty()) {
        Ok((n, _)) => Ok(n),
        Err(errno) => Err(errno.into()),
    }
}

/// `send(fd, buf, len, MSG_NOSIGNAL)`: a peer that has gone is an
/// `EPIPE` error, never a `SIGPIPE` (as std's `TcpStream::write`).
#[cfg(all(target_os = "linux", not(miri)))]
#[inline]
pub(crate) fn send(socket: &impl std::os::fd::AsFd, buf: &[u8]) -> io::Result<usize> {
    rustix::net::send(socket, buf, rustix::net::SendFlags::NOSIGNAL).map_err(io::Error::from)
}

/// Elsewhere (and under Miri, which runs no system calls of this kind):
/// std's own calls.
#[cfg(not(all(target_os = "linux", not(miri))))]
pub(crate) fn recv<S>(mut socket: &S, buf: &mut [u8]) -> io::Result<usize>
where
    for<'a> &'a S: io::Read,
{
    io::Read::read(&mut socket, buf)
}

#[cfg(not(all(target_os = "linux", not(miri))))]
pub(crate) fn send<S>(mut socket: &S, buf: &[u8]) -> io::Result<usize>
where
    for<'a> &'a S: io::Write,
{
    io::Write::write(&mut socket, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn bytes_go_both_ways_and_errors_come_back_as_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut theirs, _) = listener.accept().unwrap();

        assert_eq!(send(&ours, b"hello").unwrap(), 5);
        let mut got = [0u8; 5];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");

        theirs.write_all(b"world!").unwrap();
        let mut buf = [0u8; 16];
        let n = recv(&ours, &mut buf).unwrap();
        assert_eq!(&buf[..n], &b"world!"[..n]);
        assert!(n > 0);

        // Nothing waiting on a non-blocking socket: WouldBlock, as std says.
        ours.set_nonblocking(true).unwrap();
        let err = recv(&ours, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        // The peer closed: 0 bytes, then sends fail with an error (EPIPE or
        // ECONNRESET).
        drop(theirs);
        ours.set_nonblocking(false).unwrap();
        assert_eq!(recv(&ours, &mut buf).unwrap(), 0);
        let failed = (0..100).any(|_| send(&ours, &[0u8; 1024]).is_err());
        assert!(failed, "sending to a closed peer never failed");
        ours.flush().unwrap();
    }
}
