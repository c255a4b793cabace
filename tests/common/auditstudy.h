#pragma once
// A study for the errors and audit tests, written with JobStore directly (no model, no
// agent) and what it holds, known in advance so that tests can check SQL answers against
// a brute-force filter of this list. Two datasets (/data/a: images 1..120, /data/b:
// 121..200); three workers lease 70, 70 and 60 images an hour apart; every fifth image
// fails (corrupt, unsupported or missing, in turn) at its worker's hour, the others finish
// with road/sky/tree shares that depend on the id (ties included).

#include "jobs/jobstore.h"

#include <QJsonArray>
#include <QList>
#include <QString>

#include <optional>
#include <vector>

namespace SegScale::Testing {

struct AuditStudy {
    static constexpr int kImages = 200;
    static constexpr int kFirstB = 121;  // first image of /data/b
    static constexpr qint64 kT0 = 1'699'999'980'000;  // a whole minute
    static constexpr qint64 kHour = 3'600'000;

    struct Failed {
        qint64 id = 0;
        qint64 dataset = 0;
        QString location;
        QString category;
        QString message;
        QString worker;
        qint64 at = 0;
    };
    std::vector<Failed> failed;
    std::vector<qint64> done;
    qint64 datasetA = 0, datasetB = 0;

    static QString workerOf(qint64 id) { return id <= 70 ? QStringLiteral("w1") : id <= 140 ? QStringLiteral("w2") : QStringLiteral("w3"); }
    static qint64 timeOf(qint64 id) { return kT0 + (id <= 70 ? 0 : id <= 140 ? 1 : 2) * kHour; }
    static bool fails(qint64 id) { return id % 5 == 0; }
    static ErrorCategory categoryOf(qint64 id)
    {
        const ErrorCategory c[] = {ErrorCategory::Corrupt, ErrorCategory::Unsupported, ErrorCategory::Missing};
        return c[(id / 5) % 3];
    }
    static std::vector<float> composition(qint64 id)
    {
        const float road = static_cast<float>((id * 37) % 100) / 100.0f;
        const float sky = static_cast<float>(id % 7) / 7.0f * (1.0f - road);
        return {road, sky, 1.0f - road - sky};
    }
    static QString locationOf(qint64 id)
    {
        return id < kFirstB ? QStringLiteral("/data/a/img%1.jpg").arg(id, 4, 10, QLatin1Char('0'))
                            : QStringLiteral("/data/b/img%1.jpg").arg(id, 4, 10, QLatin1Char('0'));
    }

    // Empty on success, else what went wrong.
    QString write(const QString &path)
    {
        auto opened = Jobs::JobStore::open(path, Jobs::JobStore::OpenMode::CreateIfMissing);
        if (!opened)
            return opened.error().toString();
        Jobs::JobStore &store = **opened;
        qint64 clock = kT0;
        store.setClock([&clock] { return clock; });
        Jobs::StudySettings settings;
        settings.modelCard = QJsonObject{{QStringLiteral("name"), QStringLiteral("fake-3")},
                                         {QStringLiteral("classes"), QJsonArray{QStringLiteral("road"), QStringLiteral("sky"), QStringLiteral("tree")}}};
        settings.modelFingerprint = QByteArray(64, 'a');
        if (auto r = store.beginRun(settings, false); !r)
            return r.error().toString();
        auto storage = store.addStorage(QStringLiteral("local"), QStringLiteral("file://"));
        if (!storage)
            return storage.error().toString();
        for (const bool b : {false, true}) {
            auto ds = store.addDataset(*storage, b ? QStringLiteral("/data/b") : QStringLiteral("/data/a"), {QStringLiteral("*.jpg")}, {});
            if (!ds)
                return ds.error().toString();
            (b ? datasetB : datasetA) = *ds;
            QList<Jobs::ImageEntry> entries;
            for (qint64 id = b ? kFirstB : 1; id <= (b ? kImages : kFirstB - 1); ++id)
                entries.append(Jobs::ImageEntry{locationOf(id).mid(8), 1000});
            if (auto added = store.addImages(*ds, entries); !added)
                return added.error().toString();
        }
        for (const auto &[worker, n] : {std::pair{QStringLiteral("w1"), 70}, std::pair{QStringLiteral("w2"), 70}, std::pair{QStringLiteral("w3"), 60}}) {
            auto leased = store.lease(worker, n, 3600 * 24);
            if (!leased)
                return leased.error().toString();
            QList<Jobs::Completion> ok;
            QList<Jobs::Failure> bad;
            for (const auto &l : *leased) {
                if (workerOf(l.imageId) != worker || l.location() != locationOf(l.imageId))
                    return QStringLiteral("image %1 went to %2 at %3").arg(l.imageId).arg(worker, l.location());
                if (fails(l.imageId)) {
                    const QString message = QStringLiteral("%1: damaged, \"case %2\"").arg(l.location()).arg(l.imageId);
                    bad.append(Jobs::Failure{l.imageId, l.leaseId, Error{categoryOf(l.imageId), message}});
                    failed.push_back(Failed{l.imageId, l.imageId < kFirstB ? datasetA : datasetB, l.location(),
                                            categoryName(categoryOf(l.imageId)), message, worker, timeOf(l.imageId)});
                } else {
                    Jobs::ImageResult r;
                    r.width = 640;
                    r.height = 480;
                    r.composition = composition(l.imageId);
                    r.overlayPath = QStringLiteral("/nonexistent/overlays/%1.jpg").arg(l.imageId);
                    ok.append(Jobs::Completion{l.imageId, l.leaseId, r});
                    done.push_back(l.imageId);
                }
            }
            if (auto r = store.completeMany(ok); !r)
                return r.error().toString();
            if (auto r = store.failMany(bad); !r)
                return r.error().toString();
            clock += kHour;
        }
        std::sort(failed.begin(), failed.end(), [](const Failed &a, const Failed &b) { return a.id < b.id; });
        std::sort(done.begin(), done.end());
        return {};
    }

    // The brute-force answer to a filter: ids of the failed images that match.
    std::vector<qint64> matching(const std::optional<QString> &category, const std::optional<QString> &worker,
                                 std::optional<qint64> dataset, std::optional<qint64> since, std::optional<qint64> until) const
    {
        std::vector<qint64> out;
        for (const Failed &f : failed) {
            if ((category && f.category != *category) || (worker && f.worker != *worker) || (dataset && f.dataset != *dataset) ||
                (since && f.at < *since) || (until && f.at >= *until))
                continue;
            out.push_back(f.id);
        }
        return out;
    }
};

} // namespace SegScale::Testing
