#include "cluster/inprocessclient.h"

#include "cluster/coordinatorthread.h"
#include "cluster/peer.h"

#include <QPointer>

#include <mutex>

namespace SegScale::Cluster {

// The coordinator's side of the link. It outlives the client if need be (the
// coordinator holds it until the session ends) and forwards only while the client is
// alive: QPointer is read under a mutex because the client dies on another thread.
class InProcessClient::Link final : public Peer {
public:
    explicit Link(InProcessClient *client) : m_client(client) {}
    void send(const QJsonObject &message) override
    {
        std::lock_guard lock(m_mutex);
        if (m_client)
            QMetaObject::invokeMethod(m_client.data(), [c = m_client, message] { if (c) c->deliver(message); }, Qt::QueuedConnection);
    }
    void close(const QString &reason) override
    {
        std::lock_guard lock(m_mutex);
        if (m_client)
            QMetaObject::invokeMethod(m_client.data(), [c = m_client, reason] {
                if (c && c->m_session) {
                    c->m_session = 0;
                    c->lost(reason);
                }
            }, Qt::QueuedConnection);
    }
    QString address() const override { return QStringLiteral("in-process"); }
    void detach()
    {
        std::lock_guard lock(m_mutex);
        m_client = nullptr;
    }

private:
    std::mutex m_mutex;
    QPointer<InProcessClient> m_client;
};

InProcessClient::InProcessClient(const CoordinatorThread &host, QObject *parent) : CoordinatorClient(parent), m_host(host) {}

InProcessClient::~InProcessClient()
{
    close();
}

void InProcessClient::open()
{
    if (m_session)
        return;
    m_link = std::make_shared<Link>(this);
    std::shared_ptr<Peer> peer = m_link;
    m_host.call([&](Coordinator &c) { m_session = c.connectPeer(peer, /*trusted=*/true); });
    QMetaObject::invokeMethod(this, [this] { if (m_session) Q_EMIT opened(); }, Qt::QueuedConnection);
}

void InProcessClient::send(const QJsonObject &message)
{
    if (!m_session)
        return;
    const quint64 session = m_session;
    m_host.post([session, message](Coordinator &c) { c.handle(session, message); });
}

void InProcessClient::close()
{
    if (!m_link)
        return;
    m_link->detach();
    m_link.reset();
    if (m_session) {
        const quint64 session = m_session;
        m_session = 0;
        m_host.post([session](Coordinator &c) { c.disconnectPeer(session); });
    }
}

} // namespace SegScale::Cluster
