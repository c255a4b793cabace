#pragma once
// ImageViewer: one result on screen — the photo with its label map drawn over it in the
// model's palette, an opacity slider, a legend of the image's class shares (swatch,
// name, %) with a check box per class to hide or show it, the class under the mouse in
// a status line, zoom around the mouse (wheel, Ctrl+=, Ctrl+-, Ctrl+0 to fit), pan by
// dragging, and PageDown/PageUp for the next/previous result of the Results table.
// Photo and label map come from the coordinator ("image" messages, a chunk at a time),
// so the viewer works the same embedded and remote; a file that cannot be had is said
// in the viewer, never shown as a blank.

#include <QColor>
#include <QImage>
#include <QJsonObject>
#include <QList>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QGraphicsPixmapItem;
class QGraphicsScene;
class QLabel;
class QSlider;
class QTreeWidget;

namespace SegScale::Ui {

class ImageView;
class StudyConnection;

class ImageViewer final : public QWidget {
    Q_OBJECT
public:
    explicit ImageViewer(StudyConnection *connection, QWidget *parent = nullptr);

    // Class names and colours (the model card's), in class-index order.
    void setClasses(const QStringList &classes, const QList<QColor> &palette);
    // A row of the "results" listing: its image is fetched and shown.
    void showResult(const QJsonObject &result);

    qint64 imageId() const { return m_imageId; }
    // Photo and label map have both arrived or failed for the current image.
    bool isLoaded() const { return m_pending == 0; }
    bool hasPhoto() const { return !m_photo.isNull(); }
    bool hasLabels() const { return !m_labels.isNull(); }
    // What went wrong fetching or decoding (empty when nothing did).
    QString problem() const { return m_problems.join(QLatin1Char('\n')); }
    // The class at a point of the image (pixel coordinates), "" outside the label map.
    QString classAt(QPointF imagePos) const;
    int classIndexAt(QPointF imagePos) const;
    // The overlay's colour at a point (transparent where its class is hidden).
    QColor overlayColorAt(QPointF imagePos) const;

    void setOverlayOpacity(int percent);
    int overlayOpacity() const;
    void setClassVisible(int cls, bool visible);
    bool isClassVisible(int cls) const { return !m_hidden.contains(cls); }
    QString statusText() const;
    ImageView *view() const { return m_view; }
    QTreeWidget *legend() const { return m_legend; }

Q_SIGNALS:
    void loaded();
    // +1: the next result; -1: the previous one.
    void neighbourRequested(int step);

private:
    void fetch(quint64 generation, const QString &part, qint64 offset, QByteArray bytes);
    void partArrived(const QString &part, const QByteArray &bytes);
    void partFailed(const QString &part, const QString &message);
    void rebuildOverlay();
    void rebuildLegend();
    void updateMessage();
    void onHover(QPointF pos);

    StudyConnection *m_connection;
    ImageView *m_view;
    QGraphicsScene *m_scene;
    QGraphicsPixmapItem *m_photoItem;
    QGraphicsPixmapItem *m_overlayItem;
    QLabel *m_title;
    QLabel *m_message;
    QLabel *m_status;
    QSlider *m_opacity;
    QTreeWidget *m_legend;

    QStringList m_classes;
    QList<QColor> m_palette;
    QList<int> m_hidden;
    QJsonObject m_result;
    qint64 m_imageId = 0;
    quint64 m_generation = 0;
    int m_pending = 0;
    QImage m_photo;
    QImage m_labels;  // Grayscale8, Grayscale16 or Indexed8: the pixel is the class
    QStringList m_problems;
    QString m_hover;
};

} // namespace SegScale::Ui
