#include "cluster/coordinatorclient.h"

namespace SegScale::Cluster {

CoordinatorClient::CoordinatorClient(QObject *parent) : QObject(parent) {}

CoordinatorClient::~CoordinatorClient() = default;

void CoordinatorClient::request(QJsonObject message, Reply onReply)
{
    const qint64 id = m_nextId++;
    message.insert(QStringLiteral("id"), static_cast<double>(id));
    if (onReply)
        m_pending.emplace(id, std::move(onReply));
    send(message);
}

void CoordinatorClient::deliver(const QJsonObject &message)
{
    const QJsonValue id = message.value(QStringLiteral("id"));
    if (id.isDouble()) {
        const auto it = m_pending.find(static_cast<qint64>(id.toDouble()));
        if (it != m_pending.end()) {
            Reply r = std::move(it->second);
            m_pending.erase(it);
            r(message);
        }
    }
    Q_EMIT received(message);
}

void CoordinatorClient::lost(const QString &reason)
{
    m_pending.clear();
    Q_EMIT closed(reason);
}

} // namespace SegScale::Cluster
