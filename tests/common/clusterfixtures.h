#pragma once
// What the coordinator tests and the protocol fuzzer share: a fake Peer that records
// what the coordinator sends and whether it closed the connection, and a small real
// SQLite study (settings, one local dataset, N images, a model file) in a directory.

#include "cluster/peer.h"
#include "jobs/jobstore.h"
#include "jobs/studysettings.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace SegScale::Tests {

class FakePeer final : public Cluster::Peer {
public:
    void send(const QJsonObject &message) override
    {
        // A message after close() would go to a connection that is already gone.
        if (closed)
            ++sentAfterClose;
        messages.append(message);
        sentAt.append(QDateTime::currentMSecsSinceEpoch());
    }
    void close(const QString &reason) override
    {
        ++closeCount;
        closed = true;
        closeReason = reason;
    }
    QString address() const override { return QStringLiteral("fake:1"); }

    QList<QJsonObject> ofType(const QString &type) const
    {
        QList<QJsonObject> out;
        for (const QJsonObject &m : messages)
            if (m.value(QStringLiteral("type")).toString() == type)
                out.append(m);
        return out;
    }
    QJsonObject last() const { return messages.isEmpty() ? QJsonObject() : messages.last(); }
    QString lastType() const { return last().value(QStringLiteral("type")).toString(); }
    // Everything received so far, then forgotten: the next check sees only new messages.
    QList<QJsonObject> take()
    {
        QList<QJsonObject> out;
        out.swap(messages);
        sentAt.clear();
        return out;
    }

    QList<QJsonObject> messages;
    QList<qint64> sentAt;
    bool closed = false;
    int closeCount = 0;
    int sentAfterClose = 0;
    QString closeReason;
};

inline Jobs::StudySettings clusterTestSettings(const QString &modelDirectory = {}, const QString &modelFile = {})
{
    Jobs::StudySettings s;
    s.modelCard[QStringLiteral("name")] = QStringLiteral("test-model");
    s.modelCard[QStringLiteral("classes")] = QJsonArray{QStringLiteral("road"), QStringLiteral("sky")};
    if (!modelDirectory.isEmpty()) {
        s.modelCard[QStringLiteral("directory")] = modelDirectory;
        s.modelCard[QStringLiteral("file")] = modelFile;
    }
    s.modelFingerprint = "0123456789abcdef";
    return s;
}

// Creates dir/study.sqlite with `images` images img000.jpg... (oldest first) and, when
// modelBytes > 0, dir/model.pt of that many bytes named by the model card. Returns the
// database path, or an empty string with `error` set.
inline QString createClusterStudy(const QString &dir, int images, qint64 modelBytes, QString *error)
{
    const auto fail = [&](const QString &what) {
        if (error)
            *error = what;
        return QString();
    };
    const QString path = dir + QStringLiteral("/study.sqlite");
    if (modelBytes > 0) {
        QFile model(dir + QStringLiteral("/model.pt"));
        if (!model.open(QIODevice::WriteOnly))
            return fail(QStringLiteral("cannot write the model file"));
        QByteArray bytes(modelBytes, '\0');
        for (qint64 i = 0; i < modelBytes; ++i)
            bytes[i] = static_cast<char>(i * 131 + 7);
        model.write(bytes);
    }
    auto store = Jobs::JobStore::open(path, Jobs::JobStore::OpenMode::CreateIfMissing);
    if (!store)
        return fail(store.error().toString());
    const auto settings = modelBytes > 0 ? clusterTestSettings(dir, QStringLiteral("model.pt")) : clusterTestSettings();
    if (auto run = (*store)->beginRun(settings, false); !run)
        return fail(run.error().toString());
    auto storage = (*store)->addStorage(QStringLiteral("local"), QStringLiteral("file://"));
    if (!storage)
        return fail(storage.error().toString());
    auto dataset = (*store)->addDataset(*storage, dir + QStringLiteral("/photos"), {QStringLiteral("*.jpg")}, {});
    if (!dataset)
        return fail(dataset.error().toString());
    QList<Jobs::ImageEntry> entries;
    for (int i = 0; i < images; ++i)
        entries.append(Jobs::ImageEntry{QStringLiteral("img%1.jpg").arg(i, 3, 10, QLatin1Char('0')), 1000 + i});
    if (auto added = (*store)->addImages(*dataset, entries); !added || added->added != images)
        return fail(added ? QStringLiteral("added %1 images, not %2").arg(added->added).arg(images) : added.error().toString());
    return path;
}

} // namespace SegScale::Tests
