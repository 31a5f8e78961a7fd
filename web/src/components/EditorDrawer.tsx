import { Button, Drawer, Flex, Grid } from 'antd';
import type { ReactNode } from 'react';
import { useI18n } from '../i18n/context';

interface EditorDrawerProps {
  title: string;
  onClose: () => void;
  onSave: () => void;
  saving: boolean;
  children: ReactNode;
  /** Width on wide windows; the drawer fills narrow ones. */
  width?: number;
  saveLabel?: string;
}

/** EditorDrawer holds the form that creates or edits one object, with Save and Cancel. */
export function EditorDrawer({
  title,
  onClose,
  onSave,
  saving,
  children,
  width = 720,
  saveLabel,
}: EditorDrawerProps) {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  return (
    <Drawer
      open
      title={title}
      onClose={onClose}
      size={screens.md ? width : '100%'}
      destroyOnHidden
      closable={{ 'aria-label': t('common.close') }}
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={onSave}>
            {saveLabel ?? t('common.save')}
          </Button>
        </Flex>
      }
    >
      {children}
    </Drawer>
  );
}
