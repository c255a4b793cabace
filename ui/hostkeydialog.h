#pragma once
// HostKeyDialog: shows an SFTP server's host key that is not trusted yet — the host, the
// key type and its SHA256 fingerprint, to compare with what the server's administrator
// says — and asks before it is recorded in known_hosts. A key that CHANGED is shown with
// a strong warning and cannot be trusted from here (Storage never replaces a recorded
// key: the user removes the old line after finding out why it changed).

#include "storage/hostkeyproblem.h"

#include <QDialog>

class QLabel;
class QPushButton;

namespace SegScale::Ui {

class HostKeyDialog final : public QDialog {
    Q_OBJECT
public:
    explicit HostKeyDialog(const Storage::HostKeyProblem &problem, QWidget *parent = nullptr);

    const Storage::HostKeyProblem &problem() const { return m_problem; }
    bool isChanged() const { return m_problem.kind == Storage::HostKeyProblem::Kind::Changed; }
    // The text shown (tests read the fingerprint from it).
    QString text() const;
    // Null for a changed key.
    QPushButton *trustButton() const { return m_trust; }

private:
    Storage::HostKeyProblem m_problem;
    QLabel *m_text;
    QPushButton *m_trust = nullptr;
};

} // namespace SegScale::Ui
