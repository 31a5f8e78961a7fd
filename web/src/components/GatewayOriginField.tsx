import { Button, Flex, Input, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useI18n } from '../i18n/context';
import { normalizeOrigin } from '../lib/gateway';

interface GatewayOriginFieldProps {
  origin: string;
  derived: string;
  custom: boolean;
  setOrigin: (v: string) => void;
}

/**
 * GatewayOriginField shows the gateway address the endpoint URLs are built
 * from and lets people correct it (another port, a public name behind a
 * proxy). The change is remembered in this browser.
 */
export function GatewayOriginField({
  origin,
  derived,
  custom,
  setOrigin,
}: GatewayOriginFieldProps) {
  const { t } = useI18n();
  const [draft, setDraft] = useState(origin);
  const [seen, setSeen] = useState(origin);
  if (seen !== origin) {
    setSeen(origin);
    setDraft(origin);
  }
  const invalid = normalizeOrigin(draft) === undefined;
  const apply = () => {
    if (!invalid) setOrigin(draft);
  };
  return (
    <Flex gap={8} align="center" wrap>
      <Typography.Text>
        <label htmlFor="gateway-origin">{t('gateway.origin')}</label>
      </Typography.Text>
      <Input
        id="gateway-origin"
        className="gh-mono"
        style={{ width: 320, maxWidth: '100%' }}
        value={draft}
        status={invalid ? 'error' : undefined}
        aria-describedby="gateway-origin-help"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={apply}
        onPressEnter={apply}
      />
      {custom && (
        <Tooltip title={derived}>
          <Button size="small" onClick={() => setOrigin('')}>
            {t('gateway.useDerived')}
          </Button>
        </Tooltip>
      )}
      <Typography.Text type="secondary" id="gateway-origin-help">
        {invalid ? t('gateway.originInvalid') : t('gateway.originHelp')}
      </Typography.Text>
    </Flex>
  );
}
