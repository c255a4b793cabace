#pragma once
// ConnectDialog: asks for a coordinator URL (ws[s]://host:port) and the file holding
// the admin token; remembers both for next time.

#include <QDialog>
#include <QUrl>

class QLineEdit;

namespace SegScale::Ui {

class ConnectDialog final : public QDialog {
    Q_OBJECT
public:
    explicit ConnectDialog(QWidget *parent = nullptr);

    QUrl url() const;
    QString tokenFile() const;

private:
    void remember();

    QLineEdit *m_url;
    QLineEdit *m_tokenFile;
};

} // namespace SegScale::Ui
