#pragma once
// ClassTable: the class names and colour palette of a well-known dataset, compiled into
// the binaries (":/segscale/classes/<name>.json"), so a card, a converter or the GUI can
// say "ade20k" instead of listing 150 names. A plain value type; no LibTorch.

#include "base/result.h"
#include "model/modelcard.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace SegScale::Model {

struct ClassTable {
    QString name;
    QStringList classes;
    std::vector<Rgb> palette;  // one colour per class, same order

    // "ade20k" (150 classes, the official order) or "cityscapes" (19 train classes).
    // An unknown name is a Usage error listing the known ones.
    static Result<ClassTable> builtin(const QString &name);
    static QStringList builtinNames();
};

} // namespace SegScale::Model
