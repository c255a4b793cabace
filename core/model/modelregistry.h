#pragma once
// ModelRegistry: the models `segscale model pull NAME` knows by name — where the authors
// publish the weights, their SHA-256, and how to import them (architecture, class table).
// Entries whose weights cannot be fetched by a program (Google Drive folders) carry
// instructions for a manual download followed by `segscale model import`. Also decides
// where pulled models are cached. Plain data; no LibTorch, no network.

#include <QByteArray>
#include <QList>
#include <QString>
#include <QUrl>

#include <optional>

namespace SegScale::Model {

struct RegistryEntry {
    QString name;          // "espnet-cityscapes"
    QString description;   // one line
    QString architecture;  // "espnet" | "pspnet"
    int layers = 0;        // PSPNet depth
    QString classes;       // a built-in class table: "cityscapes" | "ade20k"
    QUrl url;              // empty: manual download only
    QByteArray sha256;     // hex, lower case
    QString fileName;      // the weights' file name in the model folder
    QString license;
    QString manualInstructions;  // for entries without a URL

    bool downloadable() const { return url.isValid() && !url.isEmpty(); }
};

class ModelRegistry {
public:
    static const QList<RegistryEntry> &entries();
    static std::optional<RegistryEntry> find(const QString &name);

    // Where pulled models live: overrideDir (--cache), else $SEGSCALE_MODEL_CACHE, else
    // QStandardPaths::AppLocalDataLocation + "/models". A model NAME is in <root>/NAME.
    static QString cacheRoot(const QString &overrideDir = {});
    // What --model names: an existing path as it is, else a pulled model of that name in
    // the cache (so `segment --model espnet-cityscapes` works after `model pull`).
    static QString resolveModelPath(const QString &pathOrName);
    // The download URL: overrideUrl (--url), else $SEGSCALE_MODEL_URL_<NAME> (upper case,
    // '-' -> '_': SEGSCALE_MODEL_URL_ESPNET_CITYSCAPES), else the entry's own. For mirrors
    // and tests.
    static QUrl downloadUrl(const RegistryEntry &entry, const QString &overrideUrl = {});
    static QString urlEnvironmentVariable(const QString &name);
};

} // namespace SegScale::Model
