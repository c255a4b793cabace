#pragma once
// RowTableModel: the refresh step the Studio's list models share. A model keeps its rows
// in a std::vector; a refresh brings a new list whose first entries are the successors of
// the rows the model has now, in the same order (rows that went were removed first). The
// rows that stayed get dataChanged where they differ and the new ones are inserted at the
// end, so a view keeps its selection and scroll position instead of being reset.

#include <QAbstractTableModel>

#include <vector>

namespace SegScale::Ui {

class RowTableModel : public QAbstractTableModel {
public:
    using QAbstractTableModel::QAbstractTableModel;

protected:
    template <typename Row>
    void updateThenAppend(std::vector<Row> &rows, const std::vector<Row> &next, int columns)
    {
        for (size_t i = 0; i < rows.size(); ++i) {
            if (rows[i] == next[i])
                continue;
            rows[i] = next[i];
            Q_EMIT dataChanged(index(static_cast<int>(i), 0), index(static_cast<int>(i), columns - 1));
        }
        if (next.size() > rows.size()) {
            beginInsertRows({}, static_cast<int>(rows.size()), static_cast<int>(next.size()) - 1);
            rows.insert(rows.end(), next.begin() + static_cast<std::ptrdiff_t>(rows.size()), next.end());
            endInsertRows();
        }
    }
};

} // namespace SegScale::Ui
