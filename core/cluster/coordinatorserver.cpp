#include "cluster/coordinatorserver.h"

#include "cluster/coordinatorthread.h"
#include "cluster/peer.h"
#include "cluster/protocol.h"

#include <QFile>
#include <QPointer>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QWebSocket>
#include <QWebSocketServer>

#include <mutex>

namespace SegScale::Cluster {
namespace {

// The coordinator's handle on one socket. Called on the coordinator's thread; the
// socket lives on the server's, so everything is queued over, and nothing is touched
// once the socket is gone.
class SocketPeer final : public Peer {
public:
    SocketPeer(QWebSocket *socket, QString address) : m_socket(socket), m_address(std::move(address)) {}
    void send(const QJsonObject &message) override
    {
        const QString text = QString::fromUtf8(Protocol::serialize(message));
        std::lock_guard lock(m_mutex);
        if (m_socket)
            QMetaObject::invokeMethod(m_socket.data(), [s = m_socket, text] { if (s) s->sendTextMessage(text); }, Qt::QueuedConnection);
    }
    void close(const QString &reason) override
    {
        std::lock_guard lock(m_mutex);
        if (m_socket)
            QMetaObject::invokeMethod(m_socket.data(), [s = m_socket, reason] {
                if (s) s->close(QWebSocketProtocol::CloseCodePolicyViolated, reason.left(120));
            }, Qt::QueuedConnection);
    }
    QString address() const override { return m_address; }
    void detach()
    {
        std::lock_guard lock(m_mutex);
        m_socket = nullptr;
    }

private:
    std::mutex m_mutex;
    QPointer<QWebSocket> m_socket;
    QString m_address;
};

} // namespace

CoordinatorServer::CoordinatorServer(const CoordinatorThread &host, QObject *parent) : QObject(parent), m_host(host) {}

CoordinatorServer::~CoordinatorServer()
{
    if (m_server)
        m_server->close();
}

Result<void> CoordinatorServer::listen(const Options &options)
{
    m_secure = !options.tlsCertificate.isEmpty();
    m_server = std::make_unique<QWebSocketServer>(QStringLiteral("segscale"),
                                                  m_secure ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode);
    if (m_secure) {
        QFile certFile(options.tlsCertificate);
        QFile keyFile(options.tlsKey);
        if (!certFile.open(QIODevice::ReadOnly))
            return Error{ErrorCategory::Usage, QStringLiteral("cannot read the TLS certificate %1: %2").arg(options.tlsCertificate, certFile.errorString())};
        if (!keyFile.open(QIODevice::ReadOnly))
            return Error{ErrorCategory::Usage, QStringLiteral("cannot read the TLS key %1: %2").arg(options.tlsKey, keyFile.errorString())};
        const auto certs = QSslCertificate::fromData(certFile.readAll(), QSsl::Pem);
        const QByteArray keyPem = keyFile.readAll();
        QSslKey key(keyPem, QSsl::Rsa, QSsl::Pem);
        if (key.isNull())
            key = QSslKey(keyPem, QSsl::Ec, QSsl::Pem);
        if (certs.isEmpty())
            return Error{ErrorCategory::Usage, QStringLiteral("%1 holds no PEM certificate").arg(options.tlsCertificate)};
        if (key.isNull())
            return Error{ErrorCategory::Usage, QStringLiteral("%1 holds no unencrypted PEM RSA or EC key").arg(options.tlsKey)};
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(certs);
        tls.setPrivateKey(key);
        tls.setPeerVerifyMode(QSslSocket::VerifyNone);  // clients prove themselves with tokens
        m_server->setSslConfiguration(tls);
    }
    // A handshake that never completes must not hold a slot for long.
    m_server->setHandshakeTimeout(10000);
    connect(m_server.get(), &QWebSocketServer::newConnection, this, &CoordinatorServer::accept);
    connect(m_server.get(), &QWebSocketServer::acceptError, this,
            [this](QAbstractSocket::SocketError) { Q_EMIT logged(QStringLiteral("accept failed: ") + m_server->errorString()); });
    connect(m_server.get(), &QWebSocketServer::peerVerifyError, this,
            [this](const QSslError &e) { Q_EMIT logged(QStringLiteral("TLS: ") + e.errorString()); });
    if (!m_server->listen(options.address, options.port))
        return Error{ErrorCategory::Usage, QStringLiteral("cannot listen on %1:%2: %3")
                                                .arg(options.address.toString())
                                                .arg(options.port)
                                                .arg(m_server->errorString())};
    return {};
}

quint16 CoordinatorServer::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

void CoordinatorServer::accept()
{
    while (QWebSocket *socket = m_server->nextPendingConnection())
        attach(socket);
}

void CoordinatorServer::attach(QWebSocket *socket)
{
    socket->setParent(this);
    // Larger frames are refused by the socket itself before they are buffered whole.
    socket->setMaxAllowedIncomingMessageSize(static_cast<quint64>(Protocol::kMaxMessageBytes));
    const QString address = socket->peerAddress().toString() + QLatin1Char(':') + QString::number(socket->peerPort());
    auto peer = std::make_shared<SocketPeer>(socket, address);
    quint64 session = 0;
    std::shared_ptr<Peer> asPeer = peer;
    m_host.call([&](Coordinator &c) { session = c.connectPeer(asPeer, /*trusted=*/false); });
    ++m_connections;
    const CoordinatorThread *host = &m_host;
    connect(socket, &QWebSocket::textMessageReceived, this, [host, session](const QString &text) {
        host->post([session, frame = text.toUtf8()](Coordinator &c) { c.receive(session, frame); });
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [socket](const QByteArray &) {
        socket->close(QWebSocketProtocol::CloseCodeDatatypeNotSupported, QStringLiteral("binary frames are not part of the protocol"));
    });
    connect(socket, &QWebSocket::disconnected, this, [this, host, session, peer, socket] {
        peer->detach();
        --m_connections;
        host->post([session](Coordinator &c) { c.disconnectPeer(session); });
        socket->deleteLater();
    });
}

} // namespace SegScale::Cluster
