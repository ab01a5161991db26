//! What a connection reads and writes through: the TCP socket itself, or
//! TLS over it. The engine and the blocking client both hold one, so the
//! WebSocket code above never knows which.

use std::io::{self, IoSlice, Read, Write};

#[cfg(feature = "tls")]
use super::tls::TlsStream;

/// What the engine needs of the socket under a transport besides bytes:
/// the peer's address and a half-close. mio's `TcpStream` in the engine;
/// an in-memory pipe in the tests that drive the engine's connection logic
/// without sockets.
pub(crate) trait Socket: Read + Write {
    /// The address of the other end.
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr>;
    /// Shuts the write side (after the last byte we will send).
    fn shutdown_write(&self) -> io::Result<()>;

    /// Reads what is there: `Read::read`, unless the socket has a cheaper
    /// way to make the same call.
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }

    /// Writes what it can: `Write::write`, unless the socket has a cheaper
    /// way to make the same call.
    fn transmit(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }
}

impl Socket for mio::net::TcpStream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        mio::net::TcpStream::peer_addr(self)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    #[inline]
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        super::syscall::recv(self, buf)
    }

    #[inline]
    fn transmit(&mut self, buf: &[u8]) -> io::Result<usize> {
        super::syscall::send(self, buf)
    }
}

/// A plain or TLS byte stream over a socket `S`.
pub enum Transport<S> {
    /// Bytes straight to and from the socket.
    Plain(S),
    #[cfg(feature = "tls")]
    /// Bytes through a rustls session over the socket.
    Tls(Box<TlsStream<S>>),
}

impl<S> Transport<S> {
    /// The socket underneath (for registration, options and errors).
    pub fn socket(&self) -> &S {
        match self {
            Transport::Plain(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.socket(),
        }
    }

    /// The socket underneath, for registration and options.
    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Transport::Plain(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.socket_mut(),
        }
    }

    /// Whether the stream is TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Transport::Plain(_))
    }
}

impl<S: Read + Write> Transport<S> {
    /// Pushes out bytes the transport itself holds (TLS records); true when
    /// none are left.
    pub fn flush_pending(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.flush_records(),
        }
    }

    /// Starts an orderly end of the stream (TLS close_notify); the caller
    /// then shuts the socket's write side.
    pub fn send_close(&mut self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(t) = self {
            t.send_close_notify();
        }
    }

    /// Reads raw socket bytes and throws them away (a connection draining
    /// after its close has nothing left to decrypt).
    pub fn discard_input(&mut self, scratch: &mut [u8]) -> io::Result<usize> {
        self.socket_mut().read(scratch)
    }
}

// Crate-private methods under a crate-private bound: nothing outside sees either.
#[allow(private_bounds)]
impl<S: Socket> Transport<S> {
    /// Reads decrypted bytes, through the socket's cheapest call when plain.
    #[inline(always)]
    pub(crate) fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.receive(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.read(buf),
        }
    }

    /// Writes bytes (encrypting them under TLS), through the socket's
    /// cheapest call when plain.
    #[inline]
    pub(crate) fn transmit(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.transmit(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write(buf),
        }
    }
}

impl<S: Read + Write> Read for Transport<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl<S: Read + Write> Write for Transport<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.flush(),
        }
    }
}
