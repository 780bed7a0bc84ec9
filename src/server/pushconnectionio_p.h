// SPDX-License-Identifier: MIT
#pragma once

// Internal: the bytes in and out of one connection (HTTP, then perhaps a WebSocket), with as
// little memory held per connection as the platform allows. Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QObject>

class QTcpSocket;

/*!
    One connection's byte stream: read what arrived, write without blocking, close.

    A QTcpSocket keeps a 16 KiB read block and a 32 KiB write block reserved once it has used
    them, which dominated the memory of an idle WebSocket or event stream (docs/benchmarks.md).
    Every plain connection lives here from accept on. adopt() keeps
    a plain TCP connection on Unix as its bare descriptor instead (PushDescriptorIo), reading
    into the caller's buffer and writing straight to the kernel; only bytes the kernel does not
    take at once are held. A TLS connection stays a QSslSocket (PushSocketIo).

    Ownership: a QObject owned by its parent, the transport.
*/
class PushConnectionIo : public QObject
{
    Q_OBJECT
public:
    //! Takes over \a socket, which is connected and has nothing left to write or read. The
    //! socket is either deleted (its descriptor lives on here) or becomes this object's child.
    static PushConnectionIo *adopt(QTcpSocket *socket, QObject *parent);

    //! Reads up to \a maxSize bytes: returns how many, 0 when nothing is there now, or -1 once
    //! nothing more will come: the connection is gone (closed() then follows), or the peer
    //! half-closed and setHalfCloseAllowed() keeps it open for writing (isWritable()).
    virtual qint64 read(char *data, qint64 maxSize) = 0;
    //! Whether the end of the peer's input (a FIN) leaves the connection open for the answer
    //! (RFC 9112 §9.6: HTTP/1.1 allows a client to half-close after its request). Off by
    //! default: a WebSocket peer that half-closes is gone.
    virtual void setHalfCloseAllowed(bool allowed) = 0;
    //! Stops watching for input until called with false (the owner buffers enough already).
    virtual void setReadPaused(bool paused) = 0;
    //! Whether write() still sends: the connection is neither gone nor closing.
    virtual bool isWritable() const = 0;
    //! Writes \a data without blocking; what the kernel does not take now waits in backlog().
    virtual void write(const QByteArray &data) = 0;
    //! Bytes written and not yet handed to the kernel.
    virtual qint64 backlog() const = 0;
    //! Sends the backlog, then closes the connection: by default half-closes and reads on,
    //! dropping what still comes, until the peer closes too; with \a waitForPeer false (the
    //! peer said it sends nothing more) closes at once.
    virtual void closeAfterWrites(bool waitForPeer = true) = 0;
    //! Closes the connection now, dropping the backlog.
    virtual void abort() = 0;
    //! The peer's address and port, for logs.
    virtual QString peerName() const = 0;

Q_SIGNALS:
    void readyRead();
    //! Some of the backlog was sent.
    void bytesSent();
    //! The connection is gone: closed by the peer, by an error, or here. Emitted once, from
    //! the event loop, never from inside a call to this object.
    void closed();

protected:
    using QObject::QObject;
};
