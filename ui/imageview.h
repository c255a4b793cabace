#pragma once
// ImageView: the image viewer's canvas — a QGraphicsView that zooms with the wheel
// around the point under the mouse (and with zoomIn/zoomOut/fit for the keyboard), pans
// by dragging, and reports the scene point under the mouse (scene = image pixels).

#include <QGraphicsView>

namespace SegScale::Ui {

class ImageView final : public QGraphicsView {
    Q_OBJECT
public:
    explicit ImageView(QWidget *parent = nullptr);

    void zoomIn();
    void zoomOut();
    // The whole scene in view, keeping its aspect; it stays fitted when the view is
    // resized until the user zooms.
    void fit();
    double zoom() const { return transform().m11(); }

Q_SIGNALS:
    void hovered(QPointF scenePos);
    void left();

protected:
    void wheelEvent(QWheelEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void zoomBy(double factor);
    bool m_fitted = false;
};

} // namespace SegScale::Ui
