#include "cluster/websocketclient.h"

#include "cluster/protocol.h"

#include <QFile>
#include <QJsonDocument>
#include <QSslCertificate>
#include <QSslConfiguration>

namespace SegScale::Cluster {

WebSocketClient::WebSocketClient(QUrl url, QString caCertificateFile, QObject *parent)
    : CoordinatorClient(parent), m_url(std::move(url)), m_caFile(std::move(caCertificateFile))
{
    m_socket.setMaxAllowedIncomingMessageSize(static_cast<quint64>(Protocol::kMaxMessageBytes));
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        m_open = true;
        Q_EMIT opened();
    });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] {
        const bool was = m_open || !m_closing;
        m_open = false;
        QString reason = m_socket.closeReason();
        if (reason.isEmpty())
            reason = m_socket.errorString();
        if (was)
            lost(reason.isEmpty() ? QStringLiteral("connection closed") : reason);
    });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &WebSocketClient::onText);
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &) {
        m_socket.close(QWebSocketProtocol::CloseCodeDatatypeNotSupported, QStringLiteral("binary frames are not part of the protocol"));
    });
    connect(&m_socket, &QWebSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        QStringList text;
        for (const auto &e : errors)
            text << e.errorString();
        m_socket.abort();
        m_open = false;
        lost(QStringLiteral("TLS: %1").arg(text.join(QStringLiteral("; "))));
    });
    if (!m_caFile.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        QFile f(m_caFile);
        if (f.open(QIODevice::ReadOnly)) {
            auto certs = QSslCertificate::fromData(f.readAll(), QSsl::Pem);
            tls.setCaCertificates(tls.caCertificates() + certs);
        }
        m_socket.setSslConfiguration(tls);
    }
}

WebSocketClient::~WebSocketClient()
{
    m_closing = true;
    m_socket.disconnect(this);
    m_socket.abort();
}

void WebSocketClient::open()
{
    m_closing = false;
    m_socket.open(m_url);
}

void WebSocketClient::send(const QJsonObject &message)
{
    if (m_open)
        m_socket.sendTextMessage(QString::fromUtf8(Protocol::serialize(message)));
}

void WebSocketClient::close()
{
    m_closing = true;
    m_socket.flush();  // what was sent last (a bye, a failed check) goes before the close frame
    m_socket.close();
}

void WebSocketClient::onText(const QString &text)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        m_socket.close(QWebSocketProtocol::CloseCodeProtocolError, QStringLiteral("the coordinator sent something that is not a JSON object"));
        return;
    }
    deliver(doc.object());
}

} // namespace SegScale::Cluster
