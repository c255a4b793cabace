#pragma once
// InProcessClient: a CoordinatorClient wired straight to a Coordinator on another
// thread of this process: no socket, no token, no serialisation. `study run` and the
// desktop app's embedded study use it.

#include "cluster/coordinatorclient.h"

#include <memory>

namespace SegScale::Cluster {

class CoordinatorThread;

class InProcessClient final : public CoordinatorClient {
    Q_OBJECT
public:
    explicit InProcessClient(const CoordinatorThread &host, QObject *parent = nullptr);
    ~InProcessClient() override;

    void open() override;
    void send(const QJsonObject &message) override;
    void close() override;
    bool isOpen() const override { return m_session != 0; }
    QString describe() const override { return QStringLiteral("in-process coordinator"); }

private:
    class Link;
    const CoordinatorThread &m_host;
    std::shared_ptr<Link> m_link;
    quint64 m_session = 0;
};

} // namespace SegScale::Cluster
