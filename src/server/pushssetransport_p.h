// SPDX-License-Identifier: MIT
#pragma once

// Internal: the Server-Sent Events transport (protocol.md: Receiving).

#include "pushstreamtransport_p.h"

class PushHttpConnection;

/*!
    One event stream of a client, on an HTTP connection that stays open: each message is an
    event with `id:` and `data:`, a gap is an event named `gap`, and a comment line keeps quiet
    connections alive through proxies.
    Ownership: the server owns it; the HTTP connection is the server's too.
*/
class PushSseTransport : public PushStreamTransport
{
    Q_OBJECT
public:
    PushSseTransport(PushServerPrivate *server, PushAttachment *attachment,
                     PushHttpConnection *connection);

    PushHttpConnection *connection() const { return m_connection; }
    //! Writes the response head; the stream is open from then on.
    void begin();
    void closeConnection(int webSocketCode, const QString &reason) override;
    void keepAlive();

protected:
    void writeMessage(PushFrame &frame) override;
    void writeGap(quint64 from, quint64 to) override;
    void writeHello(const QByteArray &frame) override;
    qint64 backlog() const override;
    void flushSocket() override;

private:
    PushHttpConnection *m_connection;
    QByteArray m_pending; // events of this turn of the event loop, written by flushSocket()
};
