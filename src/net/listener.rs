//! Listening sockets: one per worker on the same address with SO_REUSEPORT,
//! so the kernel spreads new connections across workers.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Fails with `AddrInUse` when something already listens on `addr`: another
/// process, or another server in this one. Without this check the workers'
/// SO_REUSEPORT binds would succeed beside it, and the kernel would quietly
/// split new connections between the two. A bind without SO_REUSEPORT
/// fails where anyone listens (SO_REUSEADDR only lets it pass connections
/// left in TIME_WAIT by a previous run); the probe is closed at once.
pub(crate) fn claim(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        return Ok(()); // the kernel picks a free port
    }
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    probe.bind(&addr.into()).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is already in use (another server listens there)"),
            )
        } else {
            e
        }
    })
}

/// Binds a non-blocking listener with SO_REUSEADDR, SO_REUSEPORT and a large
/// backlog.
pub fn bind_reuseport(addr: SocketAddr, backlog: i32) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// Starts a non-blocking connect to `addr` from the local address `ip`
/// (any port), for clients that need more source ports than one address has.
pub(crate) fn connect_from(
    ip: std::net::IpAddr,
    addr: SocketAddr,
) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}
