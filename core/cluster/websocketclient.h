#pragma once
// WebSocketClient: a CoordinatorClient over ws:// or wss:// to `segscale serve`.
// Messages from the server are size-checked and must be JSON objects; anything else
// closes the connection. A CA file makes a self-signed server certificate trusted.

#include "cluster/coordinatorclient.h"

#include <QUrl>
#include <QWebSocket>

namespace SegScale::Cluster {

class WebSocketClient final : public CoordinatorClient {
    Q_OBJECT
public:
    explicit WebSocketClient(QUrl url, QString caCertificateFile = {}, QObject *parent = nullptr);
    ~WebSocketClient() override;

    void open() override;
    void send(const QJsonObject &message) override;
    void close() override;
    bool isOpen() const override { return m_open; }
    QString describe() const override { return m_url.toString(); }

private:
    void onText(const QString &text);

    QUrl m_url;
    QString m_caFile;
    QWebSocket m_socket;
    bool m_open = false;
    bool m_closing = false;
};

} // namespace SegScale::Cluster
