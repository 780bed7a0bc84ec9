// SPDX-License-Identifier: MIT
#pragma once

// Internal: the Server-Sent Events transport (protocol.md: Receiving).

#include "pushstreamtransport_p.h"

class PushConnectionIo;
class PushHttpConnection;

/*!
    One event stream of a client, on an HTTP connection that stays open: each message is an
    event with `id:` and `data:`, a gap is an event named `gap`, and a comment line keeps quiet
    connections alive through proxies.
    Ownership: the server owns it; once begun it owns the connection's PushConnectionIo (the
    HTTP connection that brought the request is then gone).
*/
class PushSseTransport : public PushStreamTransport
{
    Q_OBJECT
public:
    PushSseTransport(PushTransportHost *host, PushHttpConnection *connection);

    ~PushSseTransport() override;

    //! Writes the response head and takes the connection; the stream is open from then on.
    void begin();
    void closeConnection(int webSocketCode, const QString &reason) override;
    //! Closes now, with a reset (PushServer::abort()).
    void abort();
    void keepAlive();

protected:
    void writeMessage(PushFrame &frame) override;
    void writeGap(quint64 from, quint64 to) override;
    void writeHello(const QByteArray &frame) override;
    qint64 backlog() const override;
    void flushSocket() override;

private:
    void dropInput();

    PushHttpConnection *m_connection; // until begin()
    PushConnectionIo *m_io = nullptr; // a child, from begin()
    QByteArray m_pending; // events of this turn of the event loop, written by flushSocket()
};
