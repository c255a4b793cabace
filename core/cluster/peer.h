#pragma once
// Peer: one client connection as the coordinator sees it, whatever carries it (a
// WebSocket, or a direct in-process link). The coordinator calls these on its own
// thread; an implementation hands the message over to the thread that owns the link.

#include <QJsonObject>
#include <QString>

namespace SegScale::Cluster {

class Peer {
public:
    virtual ~Peer() = default;
    virtual void send(const QJsonObject &message) = 0;
    // Ends the connection after the messages already sent; reason goes to the log.
    virtual void close(const QString &reason) = 0;
    // Where the peer connects from, for logs ("127.0.0.1:51234", "in-process").
    virtual QString address() const = 0;
};

} // namespace SegScale::Cluster
