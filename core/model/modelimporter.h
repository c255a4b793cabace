#pragma once
// ModelImporter: turns an authors' PyTorch checkpoint into a SegScale model folder
// (model.json + the weights) for a native architecture, with the card values those
// authors' own test code uses (colour order, mean/std, crop, base size). It proves the
// checkpoint loads into the architecture — every key and shape — before writing anything,
// and writes the folder atomically (a staging folder renamed into place).

#include "base/result.h"
#include "model/modelcard.h"

#include <QString>

namespace SegScale::Model {

struct ImportOptions {
    QString checkpoint;      // .pth / .pt, zip or legacy format
    QString architecture;    // "pspnet" | "espnet"
    int layers = 50;         // PSPNet: 50, 101, 152
    QString classes;         // built-in class table: "ade20k" | "cityscapes"
    QString outDir;          // created; must not already hold a model.json
    QString name;            // default "<arch>[<layers>]-<classes>"
    QString weightsFileName; // default: the checkpoint's file name
    QJsonObject about;       // provenance stored under "about" in the card
};

class ModelImporter {
public:
    // The card an import would write (directory = options.outDir); no file is touched.
    static Result<ModelCard> makeCard(const ImportOptions &options);
    // Reads the checkpoint, builds the architecture from it (Model error naming missing
    // and unexpected keys when it does not fit), runs a probe image, then writes
    // outDir/model.json and outDir/<weights>. Returns the card as written.
    static Result<ModelCard> import(const ImportOptions &options);
    // The learnable parameter count of the model a card describes (loads its weights).
    static Result<qint64> parameterCount(const ModelCard &card);
    // Hex SHA-256 of a file.
    static Result<QByteArray> sha256(const QString &path);
};

} // namespace SegScale::Model
