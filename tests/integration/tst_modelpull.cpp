// `segscale model pull|info|import` driven as users run them ($SEGSCALE_CLI via
// QProcess), against a real HTTP server on 127.0.0.1 in this process that serves the
// authors' real ESPNet checkpoint — intact, altered, or cut off half-way.

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

namespace {

// Serves one body to every GET; Truncated sends the full Content-Length header, half of
// the body and then closes the connection.
class TinyHttpServer : public QObject {
    Q_OBJECT
public:
    enum class Mode { Intact, Altered, Truncated };

    TinyHttpServer(QByteArray body, Mode mode) : m_body(std::move(body)), m_mode(mode)
    {
        if (m_mode == Mode::Altered)
            m_body[m_body.size() / 2] = static_cast<char>(m_body[m_body.size() / 2] ^ 0x01);
        connect(&m_server, &QTcpServer::newConnection, this, &TinyHttpServer::accept);
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QString url() const { return QStringLiteral("http://127.0.0.1:%1/espnet_p_2_q_8.pth").arg(m_server.serverPort()); }
    int requests() const { return m_requests; }

private:
    void accept()
    {
        while (QTcpSocket *socket = m_server.nextPendingConnection()) {
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] {
                m_pending[socket] += socket->readAll();
                if (!m_pending[socket].contains("\r\n\r\n"))
                    return;
                m_pending.remove(socket);
                ++m_requests;
                const QByteArray header = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                                          QByteArray::number(m_body.size()) + "\r\nConnection: close\r\n\r\n";
                socket->write(header);
                socket->write(m_mode == Mode::Truncated ? m_body.left(m_body.size() / 2) : m_body);
                socket->disconnectFromHost();  // after the buffered bytes are sent
            });
        }
    }

    QTcpServer m_server;
    QByteArray m_body;
    Mode m_mode;
    int m_requests = 0;
    QHash<QTcpSocket *, QByteArray> m_pending;
};

struct Run {
    int exitCode = -1;
    QString out, err;
};

} // namespace

class TestModelPull : public QObject {
    Q_OBJECT

private:
    QString m_cli;
    QString m_pth;
    QByteArray m_bytes;
    QTemporaryDir m_tmp;

    // Runs the CLI with the event loop spinning, so the in-process server answers.
    Run cli(const QStringList &args, const QString &url = {})
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char *proxy : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
            env.remove(QString::fromLatin1(proxy));
        env.remove(QStringLiteral("SEGSCALE_MODEL_CACHE"));
        env.remove(QStringLiteral("SEGSCALE_MODEL_URL_ESPNET_CITYSCAPES"));
        if (!url.isEmpty())
            env.insert(QStringLiteral("SEGSCALE_MODEL_URL_ESPNET_CITYSCAPES"), url);
        // Never the user's real cache, whatever a bug does.
        env.insert(QStringLiteral("XDG_DATA_HOME"), m_tmp.filePath(QStringLiteral("xdg")));
        p.setProcessEnvironment(env);
        QSignalSpy finished(&p, &QProcess::finished);
        p.start(m_cli, args);
        if (!p.waitForStarted(10000))
            return {};
        if (!finished.wait(180000)) {
            p.kill();
            p.waitForFinished();
            return {};
        }
        Run r{p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
        if (p.exitStatus() != QProcess::NormalExit)
            r.exitCode = -2;
        return r;
    }

    static QStringList everything(const QString &dir)
    {
        QStringList all;
        QDir d(dir);
        for (const QFileInfo &fi : d.entryInfoList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot))
            all << fi.fileName() + (fi.isDir() ? QStringLiteral("/ ") + everything(fi.filePath()).join(QLatin1Char(' ')) : QString());
        return all;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_cli = qEnvironmentVariable("SEGSCALE_CLI");
        if (m_cli.isEmpty() || !QFile::exists(m_cli))
            QSKIP("SEGSCALE_CLI is not set to the segscale executable");
        const QString shared = qEnvironmentVariable("SEGSCALE_SHARED_DIR");
        m_pth = shared + QStringLiteral("/models/espnet-cityscapes/espnet_p_2_q_8.pth");
        if (shared.isEmpty() || !QFile::exists(m_pth))
            QSKIP("SEGSCALE_SHARED_DIR/models/espnet-cityscapes is absent: model pull is not tested");
        QFile f(m_pth);
        QVERIFY(f.open(QIODevice::ReadOnly));
        m_bytes = f.readAll();
    }

    void pullThenInfo()
    {
        TinyHttpServer server(m_bytes, TinyHttpServer::Mode::Intact);
        QVERIFY(server.listen());
        const QString cache = m_tmp.filePath(QStringLiteral("cache-ok"));
        QVERIFY(QDir().mkpath(cache));
        const Run pull = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache},
                             server.url());
        QVERIFY2(pull.exitCode == 0, qPrintable(pull.err));
        QCOMPARE(server.requests(), 1);
        const QString model = cache + QStringLiteral("/espnet-cityscapes");
        QCOMPARE(pull.out.trimmed(), model);
        QVERIFY2(pull.err.contains(QStringLiteral("MB")), qPrintable(pull.err));  // progress on stderr
        // Only the model folder: no .part, no staging folder.
        QCOMPARE(everything(cache), QStringList{QStringLiteral("espnet-cityscapes/ espnet_p_2_q_8.pth model.json")});

        QFile cardFile(model + QStringLiteral("/model.json"));
        QVERIFY(cardFile.open(QIODevice::ReadOnly));
        const QJsonObject card = QJsonDocument::fromJson(cardFile.readAll()).object();
        QCOMPARE(card[QStringLiteral("architecture")].toString(), QStringLiteral("espnet"));
        QCOMPARE(card[QStringLiteral("num_classes")].toInt(), 20);
        QCOMPARE(card[QStringLiteral("file")].toString(), QStringLiteral("espnet_p_2_q_8.pth"));
        // Same classes, palette and preprocessing as the card the authors' values came in.
        QFile sharedCard(qEnvironmentVariable("SEGSCALE_SHARED_DIR") + QStringLiteral("/models/espnet-cityscapes/model.json"));
        QVERIFY(sharedCard.open(QIODevice::ReadOnly));
        const QJsonObject reference = QJsonDocument::fromJson(sharedCard.readAll()).object();
        QCOMPARE(card[QStringLiteral("classes")], reference[QStringLiteral("classes")]);
        QCOMPARE(card[QStringLiteral("palette")], reference[QStringLiteral("palette")]);
        QCOMPARE(card[QStringLiteral("input")][QStringLiteral("color_order")], reference[QStringLiteral("input")][QStringLiteral("color_order")]);
        for (const char *key : {"mean", "std"})
            for (int i = 0; i < 3; ++i)
                QVERIFY(qAbs(card[QStringLiteral("input")][QLatin1StringView(key)][i].toDouble() -
                             reference[QStringLiteral("input")][QLatin1StringView(key)][i].toDouble()) < 1e-5);

        const Run info = cli({QStringLiteral("model"), QStringLiteral("info"), model});
        QVERIFY2(info.exitCode == 0, qPrintable(info.err));
        QVERIFY2(info.out.contains(QStringLiteral("343b0e77e8545d36113c4f3efbf1ee349256f25c97c9f9d5ddefe45f2f49763e")), qPrintable(info.out));
        QVERIFY2(info.out.contains(QStringLiteral("parameters:    364569")), qPrintable(info.out));
        QVERIFY(info.out.contains(QStringLiteral("espnet")));
        QVERIFY(info.out.contains(QStringLiteral("sidewalk")));
        QVERIFY(info.out.contains(QStringLiteral("void")));
        // By name, in the same cache.
        const Run byName = cli({QStringLiteral("model"), QStringLiteral("info"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache});
        QVERIFY2(byName.exitCode == 0, qPrintable(byName.err));
        QCOMPARE(byName.out, info.out);

        // A second pull finds it cached and does not download again.
        const Run again = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache},
                              server.url());
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        QCOMPARE(server.requests(), 1);
    }

    void alteredBytesAreRefused()
    {
        TinyHttpServer server(m_bytes, TinyHttpServer::Mode::Altered);
        QVERIFY(server.listen());
        const QString cache = m_tmp.filePath(QStringLiteral("cache-altered"));
        QVERIFY(QDir().mkpath(cache));
        const Run pull = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache},
                             server.url());
        QCOMPARE(server.requests(), 1);
        QVERIFY2(pull.exitCode != 0 && pull.exitCode != -1, qPrintable(pull.err));
        QVERIFY2(pull.err.contains(QStringLiteral("SHA-256")) && pull.err.contains(QStringLiteral("refused")), qPrintable(pull.err));
        QVERIFY(pull.out.isEmpty());
        QCOMPARE(everything(cache), QStringList());
    }

    void interruptedDownloadKeepsNothing()
    {
        TinyHttpServer server(m_bytes, TinyHttpServer::Mode::Truncated);
        QVERIFY(server.listen());
        const QString cache = m_tmp.filePath(QStringLiteral("cache-cut"));
        QVERIFY(QDir().mkpath(cache));
        const Run pull = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache},
                             server.url());
        // Qt's HTTP client may retry once when a connection drops; each try is cut off.
        QVERIFY(server.requests() >= 1);
        qInfo("%s", qPrintable(pull.err.trimmed()));
        QVERIFY2(pull.exitCode != 0 && pull.exitCode != -1, qPrintable(pull.err));
        QVERIFY2(pull.err.contains(QStringLiteral("interrupted")), qPrintable(pull.err));
        QCOMPARE(everything(cache), QStringList());
    }

    void unreachableServer()
    {
        // A port nothing listens on: a clean error, nothing kept.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const QString url = QStringLiteral("http://127.0.0.1:%1/x.pth").arg(probe.serverPort());
        probe.close();
        const QString cache = m_tmp.filePath(QStringLiteral("cache-none"));
        QVERIFY(QDir().mkpath(cache));
        const Run pull = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("espnet-cityscapes"), QStringLiteral("--cache"), cache,
                              QStringLiteral("--url"), url});
        QCOMPARE(pull.exitCode, 1);
        QCOMPARE(everything(cache), QStringList());
    }

    void importChecksTheArchitecture()
    {
        const QString out = m_tmp.filePath(QStringLiteral("imported"));
        const Run ok = cli({QStringLiteral("model"), QStringLiteral("import"), m_pth, QStringLiteral("--arch"), QStringLiteral("espnet"),
                            QStringLiteral("--classes"), QStringLiteral("cityscapes"), QStringLiteral("--out"), out});
        QVERIFY2(ok.exitCode == 0, qPrintable(ok.err));
        QVERIFY(QFile::exists(out + QStringLiteral("/model.json")));
        QVERIFY(QFile::exists(out + QStringLiteral("/espnet_p_2_q_8.pth")));
        // Importing over an existing model is refused.
        const Run twice = cli({QStringLiteral("model"), QStringLiteral("import"), m_pth, QStringLiteral("--arch"), QStringLiteral("espnet"),
                               QStringLiteral("--classes"), QStringLiteral("cityscapes"), QStringLiteral("--out"), out});
        QCOMPARE(twice.exitCode, 2);

        // The ESPNet checkpoint is not a PSPNet: refused with the key problems named, and
        // nothing written.
        const QString wrong = m_tmp.filePath(QStringLiteral("wrong"));
        const Run bad = cli({QStringLiteral("model"), QStringLiteral("import"), m_pth, QStringLiteral("--arch"), QStringLiteral("pspnet"),
                             QStringLiteral("--classes"), QStringLiteral("cityscapes"), QStringLiteral("--out"), wrong});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("encoder.level1.conv.weight")) || bad.err.contains(QStringLiteral("layer0")), qPrintable(bad.err));
        QVERIFY(!QFileInfo::exists(wrong));
        QCOMPARE(everything(m_tmp.path()).filter(QStringLiteral(".wrong")), QStringList());
    }

    void usage()
    {
        QCOMPARE(cli({QStringLiteral("model")}).exitCode, 2);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("--help")}).exitCode, 0);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("frobnicate")}).exitCode, 2);
        for (const char *sub : {"import", "pull", "info", "list"}) {
            const Run help = cli({QStringLiteral("model"), QLatin1StringView(sub), QStringLiteral("--help")});
            QCOMPARE(help.exitCode, 0);
            QVERIFY(help.out.contains(QStringLiteral("Usage")));
        }
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("pull")}).exitCode, 2);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("no-such-model")}).exitCode, 2);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("a"), QStringLiteral("--bogus")}).exitCode, 2);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("import"), m_pth, QStringLiteral("--arch"), QStringLiteral("resnet"),
                      QStringLiteral("--classes"), QStringLiteral("cityscapes"), QStringLiteral("--out"), m_tmp.filePath(QStringLiteral("u"))})
                     .exitCode,
                 2);
        QCOMPARE(cli({QStringLiteral("model"), QStringLiteral("import"), m_pth, QStringLiteral("--arch"), QStringLiteral("espnet")}).exitCode, 2);

        // Manual entries say where the authors publish the weights and how to import them.
        const Run manual = cli({QStringLiteral("model"), QStringLiteral("pull"), QStringLiteral("pspnet50-ade20k"), QStringLiteral("--cache"),
                                m_tmp.filePath(QStringLiteral("manual"))});
        QCOMPARE(manual.exitCode, 1);
        QVERIFY2(manual.err.contains(QStringLiteral("drive.google.com")), qPrintable(manual.err));
        QVERIFY(manual.err.contains(QStringLiteral("hszhao/semseg")));
        QVERIFY(manual.err.contains(QStringLiteral("segscale model import")));
        QVERIFY(!QFileInfo::exists(m_tmp.filePath(QStringLiteral("manual/pspnet50-ade20k"))));

        const Run list = cli({QStringLiteral("model"), QStringLiteral("list"), QStringLiteral("--cache"), m_tmp.filePath(QStringLiteral("cache-ok"))});
        QCOMPARE(list.exitCode, 0);
        QVERIFY(list.out.contains(QStringLiteral("pspnet101-cityscapes")));
    }
};

QTEST_GUILESS_MAIN(TestModelPull)
#include "tst_modelpull.moc"
