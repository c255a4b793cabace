#pragma once
// CoordinatorServer: puts a Coordinator (on its CoordinatorThread) behind a WebSocket
// listener, ws:// or wss:// when given a certificate and key. Each connection becomes
// one session; frames go to Coordinator::receive() on the coordinator's thread, which
// checks them and closes that one connection on anything malformed. Lives on the thread
// that creates it (serve's main thread), so sockets and the database never share one.

#include "base/result.h"

#include <QHostAddress>
#include <QObject>
#include <QString>

#include <memory>

class QWebSocketServer;
class QWebSocket;

namespace SegScale::Cluster {

class CoordinatorThread;

class CoordinatorServer final : public QObject {
    Q_OBJECT
public:
    struct Options {
        QHostAddress address = QHostAddress::LocalHost;
        quint16 port = 0;  // 0: any free port (see port())
        QString tlsCertificate;  // PEM; both given: wss://
        QString tlsKey;
    };

    explicit CoordinatorServer(const CoordinatorThread &host, QObject *parent = nullptr);
    ~CoordinatorServer() override;

    Result<void> listen(const Options &options);
    quint16 port() const;
    bool secure() const { return m_secure; }
    int connections() const { return m_connections; }

Q_SIGNALS:
    void logged(const QString &line);

private:
    void accept();
    void attach(QWebSocket *socket);

    const CoordinatorThread &m_host;
    std::unique_ptr<QWebSocketServer> m_server;
    bool m_secure = false;
    int m_connections = 0;
};

} // namespace SegScale::Cluster
