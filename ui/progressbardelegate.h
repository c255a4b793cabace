#pragma once
// ProgressBarDelegate: draws a cell as the style's progress bar, from a 0..1 fraction in
// a role of the model and the cell's text as its label (the per-dataset bars).

#include <QStyledItemDelegate>

namespace SegScale::Ui {

class ProgressBarDelegate final : public QStyledItemDelegate {
    Q_OBJECT
public:
    ProgressBarDelegate(int fractionRole, QObject *parent = nullptr) : QStyledItemDelegate(parent), m_role(fractionRole) {}
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;

private:
    int m_role;
};

} // namespace SegScale::Ui
