#pragma once
// CoordinatorClient: how agents, the CLI and the desktop app talk to a coordinator,
// whether it runs in this process (InProcessClient) or behind `segscale serve`
// (WebSocketClient). Both carry the same messages (cluster/protocol.h) to the same
// Coordinator::handle(), so a front end written against this class works with either.
//
// Threading: a client lives on the thread that created it; its signals arrive there.

#include <QJsonObject>
#include <QObject>

#include <functional>
#include <map>

namespace SegScale::Cluster {

class CoordinatorClient : public QObject {
    Q_OBJECT
public:
    using Reply = std::function<void(const QJsonObject &reply)>;

    ~CoordinatorClient() override;

    // Connects; opened() or closed() follows.
    virtual void open() = 0;
    virtual void send(const QJsonObject &message) = 0;
    virtual void close() = 0;
    virtual bool isOpen() const = 0;
    virtual QString describe() const = 0;

    // Sends with a fresh "id"; onReply gets the message that echoes it (an error
    // included). Pending replies are dropped when the connection closes.
    void request(QJsonObject message, Reply onReply);

Q_SIGNALS:
    void opened();
    // Every message from the coordinator (replies to request() too).
    void received(const QJsonObject &message);
    void closed(const QString &reason);

protected:
    explicit CoordinatorClient(QObject *parent = nullptr);
    // Transports call these.
    void deliver(const QJsonObject &message);
    void lost(const QString &reason);

private:
    qint64 m_nextId = 1;
    std::map<qint64, Reply> m_pending;
};

} // namespace SegScale::Cluster
