#include "ui/imageviewer.h"

#include "ui/imageview.h"
#include "ui/studyconnection.h"

#include <QFileInfo>
#include <QGraphicsPixmapItem>
#include <QGraphicsScene>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QPixmap>
#include <QShortcut>
#include <QSlider>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace SegScale::Ui {

namespace {

QIcon swatch(const QColor &color)
{
    QPixmap p(14, 14);
    p.fill(color.isValid() ? color : QColor(Qt::gray));
    QPainter painter(&p);
    painter.setPen(QColor(0, 0, 0, 90));
    painter.drawRect(0, 0, 13, 13);
    return QIcon(p);
}

} // namespace

ImageViewer::ImageViewer(StudyConnection *connection, QWidget *parent)
    : QWidget(parent), m_connection(connection), m_view(new ImageView), m_scene(new QGraphicsScene(this)),
      m_photoItem(new QGraphicsPixmapItem), m_overlayItem(new QGraphicsPixmapItem), m_title(new QLabel), m_message(new QLabel),
      m_status(new QLabel), m_opacity(new QSlider(Qt::Horizontal)), m_legend(new QTreeWidget)
{
    setWindowTitle(tr("Image viewer"));
    m_scene->addItem(m_photoItem);
    m_scene->addItem(m_overlayItem);
    m_photoItem->setTransformationMode(Qt::SmoothTransformation);
    m_overlayItem->setTransformationMode(Qt::FastTransformation);  // class edges stay crisp
    m_view->setScene(m_scene);

    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message->setWordWrap(true);
    m_message->setStyleSheet(QStringLiteral("color: palette(highlight); font-weight: bold"));
    m_message->hide();
    m_opacity->setRange(0, 100);
    m_opacity->setValue(50);
    m_opacity->setToolTip(tr("Overlay opacity"));
    connect(m_opacity, &QSlider::valueChanged, this, [this](int v) { m_overlayItem->setOpacity(v / 100.0); });
    m_overlayItem->setOpacity(0.5);

    m_legend->setColumnCount(2);
    m_legend->setHeaderLabels({tr("Class"), tr("Share")});
    m_legend->setRootIsDecorated(false);
    m_legend->header()->setStretchLastSection(false);
    m_legend->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_legend->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_legend->setToolTip(tr("Untick a class to hide it in the overlay"));
    connect(m_legend, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem *item, int column) {
        if (column == 0)
            setClassVisible(item->data(0, Qt::UserRole).toInt(), item->checkState(0) == Qt::Checked);
    });

    auto *side = new QWidget;
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    auto *opacityRow = new QHBoxLayout;
    opacityRow->addWidget(new QLabel(tr("Overlay")));
    opacityRow->addWidget(m_opacity);
    sideLayout->addLayout(opacityRow);
    sideLayout->addWidget(m_legend);

    auto *splitter = new QSplitter;
    splitter->addWidget(m_view);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 0);
    splitter->setCollapsible(0, false);
    side->setMinimumWidth(200);
    side->setMaximumWidth(420);
    splitter->setSizes({800, 280});

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_message);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_status);
    m_status->setText(tr("Wheel or Ctrl+= / Ctrl+- to zoom, Ctrl+0 to fit, drag to pan, PageDown / PageUp for the next / previous image"));

    connect(m_view, &ImageView::hovered, this, &ImageViewer::onHover);
    auto shortcut = [this](const QKeySequence &keys, auto slot) {
        auto *s = new QShortcut(keys, this);
        s->setContext(Qt::WidgetWithChildrenShortcut);
        connect(s, &QShortcut::activated, this, slot);
    };
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_Equal), [this] { m_view->zoomIn(); });
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_Plus), [this] { m_view->zoomIn(); });
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_Minus), [this] { m_view->zoomOut(); });
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_0), [this] { m_view->fit(); });
    shortcut(QKeySequence(Qt::Key_PageDown), [this] { Q_EMIT neighbourRequested(1); });
    shortcut(QKeySequence(Qt::Key_PageUp), [this] { Q_EMIT neighbourRequested(-1); });
    resize(1100, 720);
}

void ImageViewer::setClasses(const QStringList &classes, const QList<QColor> &palette)
{
    m_classes = classes;
    m_palette = palette;
    rebuildOverlay();
    rebuildLegend();
}

void ImageViewer::showResult(const QJsonObject &result)
{
    m_result = result;
    m_imageId = static_cast<qint64>(result.value(QStringLiteral("image")).toDouble());
    const quint64 generation = ++m_generation;
    m_photo = QImage();
    m_labels = QImage();
    m_problems.clear();
    m_hover.clear();
    m_photoItem->setPixmap({});
    m_overlayItem->setPixmap({});
    const QString location = result.value(QStringLiteral("location")).toString();
    // An audit sample's row has no size; the photo's own size shows once it is in.
    const int width = result.value(QStringLiteral("width")).toInt();
    const int height = result.value(QStringLiteral("height")).toInt();
    m_title->setText(width > 0 ? tr("<b>%1</b> — %2 × %3 px").arg(QFileInfo(location).fileName().toHtmlEscaped()).arg(width).arg(height)
                               : tr("<b>%1</b>").arg(QFileInfo(location).fileName().toHtmlEscaped()));
    m_title->setToolTip(location);
    setWindowTitle(tr("%1 — Image viewer").arg(QFileInfo(location).fileName()));
    rebuildLegend();
    m_pending = 2;
    updateMessage();
    fetch(generation, QStringLiteral("photo"), 0, {});
    fetch(generation, QStringLiteral("label"), 0, {});
}

void ImageViewer::fetch(quint64 generation, const QString &part, qint64 offset, QByteArray bytes)
{
    QJsonObject request{{QStringLiteral("type"), QStringLiteral("image")},
                        {QStringLiteral("image"), static_cast<double>(m_imageId)},
                        {QStringLiteral("part"), part},
                        {QStringLiteral("offset"), static_cast<double>(offset)}};
    m_connection->query(request, this, [this, generation, part, bytes = std::move(bytes)](const QJsonObject &r, const QString &error) mutable {
        if (generation != m_generation)
            return;  // the user moved on to another image
        if (!error.isEmpty()) {
            partFailed(part, error);
            return;
        }
        bytes += QByteArray::fromBase64(r.value(QStringLiteral("data")).toString().toLatin1());
        if (r.value(QStringLiteral("eof")).toBool())
            partArrived(part, bytes);
        else
            fetch(generation, part, bytes.size(), std::move(bytes));
    });
}

void ImageViewer::partArrived(const QString &part, const QByteArray &bytes)
{
    QImage image = QImage::fromData(bytes);
    if (image.isNull()) {
        partFailed(part, part == QLatin1StringView("photo") ? tr("the photo could not be decoded (%1 bytes)").arg(bytes.size())
                                                            : tr("the label map could not be decoded (%1 bytes)").arg(bytes.size()));
        return;
    }
    if (part == QLatin1StringView("photo")) {
        m_photo = std::move(image);
        m_photoItem->setPixmap(QPixmap::fromImage(m_photo));
    } else {
        if (image.format() != QImage::Format_Grayscale8 && image.format() != QImage::Format_Grayscale16 &&
            image.format() != QImage::Format_Indexed8)
            image = image.convertToFormat(QImage::Format_Grayscale8);
        m_labels = std::move(image);
        rebuildOverlay();
    }
    --m_pending;
    updateMessage();
}

void ImageViewer::partFailed(const QString &part, const QString &message)
{
    m_problems << (part == QLatin1StringView("photo") ? tr("Photo: %1").arg(message) : tr("Labels: %1").arg(message));
    --m_pending;
    updateMessage();
}

void ImageViewer::updateMessage()
{
    if (m_pending > 0) {
        m_message->setText(tr("Loading…"));
        m_message->show();
        return;
    }
    m_message->setText(problem());
    m_message->setVisible(!m_problems.isEmpty());
    const QImage &shown = m_photo.isNull() ? m_labels : m_photo;
    if (!shown.isNull()) {
        m_scene->setSceneRect(QRectF(QPointF(0, 0), QSizeF(shown.size())));
        if (!m_labels.isNull() && !m_photo.isNull() && m_labels.size() != m_photo.size())
            m_overlayItem->setTransform(QTransform::fromScale(double(m_photo.width()) / m_labels.width(),
                                                              double(m_photo.height()) / m_labels.height()));
        else
            m_overlayItem->setTransform(QTransform());
        m_view->fit();
    }
    Q_EMIT loaded();
}

int ImageViewer::classIndexAt(QPointF imagePos) const
{
    if (m_labels.isNull())
        return -1;
    QPointF p = imagePos;
    if (!m_photo.isNull() && m_photo.size() != m_labels.size())
        p = QPointF(p.x() * m_labels.width() / m_photo.width(), p.y() * m_labels.height() / m_photo.height());
    const int x = static_cast<int>(std::floor(p.x()));
    const int y = static_cast<int>(std::floor(p.y()));
    if (x < 0 || y < 0 || x >= m_labels.width() || y >= m_labels.height())
        return -1;
    switch (m_labels.format()) {
    case QImage::Format_Grayscale16:
        return reinterpret_cast<const quint16 *>(m_labels.constScanLine(y))[x];
    case QImage::Format_Indexed8:
        return m_labels.pixelIndex(x, y);
    default:
        return m_labels.constScanLine(y)[x];
    }
}

QString ImageViewer::classAt(QPointF imagePos) const
{
    const int c = classIndexAt(imagePos);
    if (c < 0)
        return {};
    return c < m_classes.size() ? m_classes[c] : tr("class %1").arg(c);
}

QColor ImageViewer::overlayColorAt(QPointF imagePos) const
{
    const QPixmap pixmap = m_overlayItem->pixmap();
    if (pixmap.isNull())
        return {};
    const QPointF local = m_overlayItem->mapFromScene(imagePos);
    const QImage image = pixmap.toImage();
    const QPoint p(static_cast<int>(std::floor(local.x())), static_cast<int>(std::floor(local.y())));
    return image.rect().contains(p) ? image.pixelColor(p) : QColor();
}

void ImageViewer::setOverlayOpacity(int percent)
{
    m_opacity->setValue(percent);
}

int ImageViewer::overlayOpacity() const
{
    return m_opacity->value();
}

void ImageViewer::setClassVisible(int cls, bool visible)
{
    if (visible == isClassVisible(cls))
        return;
    if (visible)
        m_hidden.removeAll(cls);
    else
        m_hidden.append(cls);
    rebuildOverlay();
    // Keep the legend's tick in step when called from code.
    for (int i = 0; i < m_legend->topLevelItemCount(); ++i) {
        QTreeWidgetItem *item = m_legend->topLevelItem(i);
        if (item->data(0, Qt::UserRole).toInt() == cls) {
            const QSignalBlocker block(m_legend);
            item->setCheckState(0, visible ? Qt::Checked : Qt::Unchecked);
        }
    }
}

void ImageViewer::rebuildOverlay()
{
    if (m_labels.isNull()) {
        m_overlayItem->setPixmap({});
        return;
    }
    // A lookup table per class: the palette colour, or transparent where hidden.
    const int classes = std::max<int>(int(m_classes.size()), m_labels.format() == QImage::Format_Grayscale16 ? 65536 : 256);
    QVector<QRgb> lut(classes, qRgba(0, 0, 0, 0));
    for (int c = 0; c < classes; ++c) {
        if (m_hidden.contains(c))
            continue;
        const QColor color = c < m_palette.size() ? m_palette[c] : QColor::fromHsv((c * 47) % 360, 200, 230);
        lut[c] = color.rgb();
    }
    QImage overlay(m_labels.size(), QImage::Format_ARGB32);
    for (int y = 0; y < m_labels.height(); ++y) {
        auto *out = reinterpret_cast<QRgb *>(overlay.scanLine(y));
        if (m_labels.format() == QImage::Format_Grayscale16) {
            const auto *in = reinterpret_cast<const quint16 *>(m_labels.constScanLine(y));
            for (int x = 0; x < m_labels.width(); ++x)
                out[x] = lut[in[x]];
        } else {
            const uchar *in = m_labels.constScanLine(y);
            for (int x = 0; x < m_labels.width(); ++x)
                out[x] = lut[in[x]];
        }
    }
    m_overlayItem->setPixmap(QPixmap::fromImage(overlay));
}

void ImageViewer::rebuildLegend()
{
    const QSignalBlocker block(m_legend);
    m_legend->clear();
    const QJsonArray composition = m_result.value(QStringLiteral("composition")).toArray();
    QList<std::pair<double, int>> order;
    for (qsizetype c = 0; c < composition.size(); ++c)
        if (composition[c].toDouble() > 0.0)
            order.append({composition[c].toDouble(), int(c)});
    std::sort(order.begin(), order.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    for (const auto &[share, c] : order) {
        auto *item = new QTreeWidgetItem(m_legend);
        item->setText(0, c < m_classes.size() ? m_classes[c] : tr("class %1").arg(c));
        item->setIcon(0, swatch(c < m_palette.size() ? m_palette[c] : QColor()));
        item->setData(0, Qt::UserRole, c);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(0, isClassVisible(c) ? Qt::Checked : Qt::Unchecked);
        item->setText(1, QLocale().toString(share * 100.0, 'f', 1) + QStringLiteral(" %"));
        item->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
    }
}

void ImageViewer::onHover(QPointF pos)
{
    const QString name = classAt(pos);
    if (name.isEmpty())
        m_hover.clear();
    else
        m_hover = tr("x %1, y %2: %3").arg(int(std::floor(pos.x()))).arg(int(std::floor(pos.y()))).arg(name);
    m_status->setText(m_hover);
}

QString ImageViewer::statusText() const
{
    return m_status->text();
}

} // namespace SegScale::Ui
